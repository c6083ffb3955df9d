package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/inboxq/inboxq/internal/classify"
	"github.com/inboxq/inboxq/internal/gmail"
	"github.com/inboxq/inboxq/internal/gmail/fakegmail"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/secret"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
)

// TestKilledSyncResumesWithoutDuplicatesOrGaps kills (SIGKILL) a worker
// process in the middle of a full sync, lets another process take the job
// over through the lease (River's rescuer would wait minutes), and checks the store holds every message
// once and that finished pages were not fetched again.
func TestKilledSyncResumesWithoutDuplicatesOrGaps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const addr = "killme@example.com"
	fake := fakegmail.New(fakegmail.Options{RequireAuth: true, ClientID: "cid", ClientSecret: "csec", UserUnitsPerMinute: 10_000_000})
	fake.AddMailbox(fakegmail.Generate(11, 1500, fakegmail.GenerateOptions{Address: addr}))
	fake.SetLatency(15 * time.Millisecond) // a sync of a few seconds
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)

	s := inboxqtest.TestSchema(t)
	st := store.New(s.Pool)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secret.NewBox(key)
	require.NoError(t, err)
	gcfg := gmail.Config{ClientID: "cid", ClientSecret: "csec", TokenURL: srv.URL + "/token", APIBase: srv.URL, UserQuota: 10_000_000}
	provider := gmail.NewProvider(gcfg, st, box, inboxqtest.Logger(t))
	reg := jobs.NewRegistry()
	jobs.RegisterSync(reg, st, provider, inboxqtest.Logger(t), 0)
	jobs.RegisterClassify(reg, st, classify.MustBase(), nil, inboxqtest.Logger(t), 0)
	client, err := jobs.NewClient(st, reg, jobs.Config{Schema: s.Name})
	require.NoError(t, err)
	svc := tasks.NewService(st, client, reg, inboxqtest.Logger(t))
	owner, err := st.UserUpsert(ctx, "alice", inbox.RoleUser)
	require.NoError(t, err)
	acct, err := provider.ConnectToken(ctx, owner.UserID, &oauth2.Token{RefreshToken: fake.IssueRefreshToken(addr, fakegmail.ScopeModify)})
	require.NoError(t, err)
	task, _, err := svc.Create(ctx, owner, tasks.CreateParams{Kind: "sync_user_emails", Args: json.RawMessage(fmt.Sprintf(`{"account_id":%d}`, acct.ID))})
	require.NoError(t, err)

	env := append(helperEnv(t, s, "10s"),
		"INBOXQ_HELPER_LEASE=1",
		"INBOXQ_SECRET_KEY="+base64.StdEncoding.EncodeToString(key),
		"INBOXQ_GOOGLE_CLIENT_ID=cid", "INBOXQ_GOOGLE_CLIENT_SECRET=csec",
		"INBOXQ_GOOGLE_TOKEN_URL="+srv.URL+"/token", "INBOXQ_GMAIL_API_URL="+srv.URL,
		"INBOXQ_GMAIL_USER_QUOTA=10000000")

	// First worker: killed outright once a few pages are stored.
	first, _ := startHelper(t, env...)
	require.Eventually(t, func() bool {
		n, err := st.MessageCount(ctx, acct.ID)
		require.NoError(t, err)
		return n >= 300
	}, 30*time.Second, 5*time.Millisecond)
	require.NoError(t, first.Process.Signal(syscall.SIGKILL))
	_ = first.Wait()
	storedAtKill, err := st.MessageCount(ctx, acct.ID)
	require.NoError(t, err)
	require.Less(t, storedAtKill, int64(1400), "killed mid-way")
	getsBefore := countGets(fake)
	fake.SetLatency(0)

	// Second worker: it hands the dead one's job back once its heartbeat
	// is stale, and resumes it.
	second, _ := startHelper(t, env...)
	done := waitForTask(t, svc, owner, task.ID, 3*time.Minute)
	require.NoError(t, second.Process.Signal(syscall.SIGTERM))
	require.NoError(t, second.Wait())
	require.Equal(t, inbox.TaskCompleted, done.State, "errors: %+v", done.Errors)

	var want []string
	mb := fake.Mailbox(addr)
	for _, id := range mb.MessageIDs() {
		labels, err := mb.MessageLabels(id)
		require.NoError(t, err)
		if !slices.Contains(labels, "SPAM") && !slices.Contains(labels, "TRASH") {
			want = append(want, id)
		}
	}
	slices.Sort(want)
	got, err := st.MessageIDs(ctx, acct.ID)
	require.NoError(t, err)
	require.Equal(t, want, got, "no duplicate, no gap")

	// Finished pages were not fetched again: after the kill, at most the
	// page in flight (100 messages) is fetched twice.
	refetched := countGets(fake) - getsBefore - (int64(len(want)) - storedAtKill)
	require.LessOrEqual(t, refetched, int64(100), "re-fetched %d messages", refetched)
	t.Logf("killed at %d stored; resumed and finished %d; %d fetched twice", storedAtKill, len(want), refetched)
}

func countGets(fake *fakegmail.Server) int64 {
	var n int64
	for _, r := range fake.Requests() {
		if r.Method == "GET" && strings.Contains(r.Path, "/messages/") && r.Status == 200 {
			n++
		}
	}
	return n
}

func waitForTask(t testing.TB, svc *tasks.Service, p inbox.Principal, id int64, timeout time.Duration) inbox.Task {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		task, err := svc.Get(context.Background(), p, id)
		require.NoError(t, err)
		if task.State.Finished() {
			return task
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %d never finished: state %s, attempt %d, started %v, errors %+v", id, task.State, task.Attempt, task.StartedAt, task.Errors)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
