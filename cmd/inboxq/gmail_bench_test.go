package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
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

// syncRun is a mailbox on a fake Gmail, an account for it, and a worker
// process (this test binary run as `inboxq worker`) to sync it.
type syncRun struct {
	fake    *fakegmail.Server
	svc     *tasks.Service
	owner   inbox.Principal
	account inbox.Account
	env     []string
	st      *store.Store
}

func newSyncRun(b *testing.B, messages int, quota float64) *syncRun {
	b.Helper()
	ctx := context.Background()
	const addr = "bench@example.com"
	fake := fakegmail.New(fakegmail.Options{RequireAuth: true, ClientID: "cid", ClientSecret: "csec", UserUnitsPerMinute: int(quota)})
	fake.AddMailbox(fakegmail.Generate(5, messages, fakegmail.GenerateOptions{Address: addr}))
	srv := httptest.NewServer(fake)
	b.Cleanup(srv.Close)
	s := inboxqtest.TestSchema(b)
	st := store.New(s.Pool)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secret.NewBox(key)
	require.NoError(b, err)
	provider := gmail.NewProvider(gmail.Config{ClientID: "cid", ClientSecret: "csec", TokenURL: srv.URL + "/token", APIBase: srv.URL, UserQuota: quota}, st, box, inboxqtest.Logger(b))
	reg := jobs.NewRegistry()
	jobs.RegisterSync(reg, st, provider, inboxqtest.Logger(b), 0)
	jobs.RegisterClassify(reg, st, classify.MustBase(), nil, inboxqtest.Logger(b), 0)
	client, err := jobs.NewClient(st, reg, jobs.Config{Schema: s.Name})
	require.NoError(b, err)
	owner, err := st.UserUpsert(ctx, "bench", inbox.RoleUser)
	require.NoError(b, err)
	acct, err := provider.ConnectToken(ctx, owner.UserID, &oauth2.Token{RefreshToken: fake.IssueRefreshToken(addr, fakegmail.ScopeModify)})
	require.NoError(b, err)
	fake.ResetLog()
	env := []string{
		"INBOXQ_HELPER=worker", "INBOXQ_HELPER_SCHEMA=" + s.Name, "INBOXQ_DATA_DIR=" + b.TempDir(), "DATABASE_URL=" + s.URL, "INBOXQ_LOG_LEVEL=warn",
		"INBOXQ_SECRET_KEY=" + base64.StdEncoding.EncodeToString(key),
		"INBOXQ_GOOGLE_CLIENT_ID=cid", "INBOXQ_GOOGLE_CLIENT_SECRET=csec",
		"INBOXQ_GOOGLE_TOKEN_URL=" + srv.URL + "/token", "INBOXQ_GMAIL_API_URL=" + srv.URL,
		fmt.Sprintf("INBOXQ_GMAIL_USER_QUOTA=%.0f", quota),
	}
	return &syncRun{fake: fake, svc: tasks.NewService(st, client, reg, inboxqtest.Logger(b)), owner: owner, account: acct, env: env, st: st}
}

// run syncs the mailbox in a worker process and returns the finished task,
// how long it took, and the process's peak RSS.
func (r *syncRun) run(b *testing.B) (inbox.Task, time.Duration, int64) {
	b.Helper()
	task, _, err := r.svc.Create(context.Background(), r.owner, tasks.CreateParams{Kind: "sync_user_emails", Args: json.RawMessage(fmt.Sprintf(`{"account_id":%d}`, r.account.ID))})
	require.NoError(b, err)
	start := time.Now()
	proc, _ := startHelper(b, r.env...)
	done := waitForTask(b, r.svc, r.owner, task.ID, 20*time.Minute)
	took := time.Since(start)
	rss := stopForPeakRSS(b, proc)
	require.Equal(b, inbox.TaskCompleted, done.State, "%+v", done.Errors)
	return done, took, rss
}

// BenchmarkSyncQuotaEfficiency runs a full sync against a mailbox whose
// per-user quota is the limit, and reports units used ÷ units allowed over
// the sync (target ≥ 0.9, with no rate-limit errors).
func BenchmarkSyncQuotaEfficiency(b *testing.B) {
	for range b.N {
		const quota = 30_000 // units per minute: 500 per second
		r := newSyncRun(b, 2500, quota)
		done, took, _ := r.run(b)
		used := float64(r.fake.UnitsUsed("bench@example.com"))
		allowed := quota / 60 * took.Seconds()
		errors429 := 0
		for _, q := range r.fake.Requests() {
			if q.Status == 429 || q.Status == 403 {
				errors429++
			}
		}
		b.ReportMetric(used/allowed, "quota_efficiency")
		b.ReportMetric(float64(errors429), "rate_limit_errors")
		b.Logf("full sync of %d messages: %.0f units in %s at %d units/min allowed (%.0f allowed): efficiency %.2f, %d rate-limit errors, attempts %d",
			done.Progress.Done, used, took.Round(time.Millisecond), quota, allowed, used/allowed, errors429, done.Attempt)
	}
}

// BenchmarkSyncMemory100k syncs a 100,000-message mailbox in a worker
// process and reports its peak RSS (target well under 200 MB).
func BenchmarkSyncMemory100k(b *testing.B) {
	for range b.N {
		r := newSyncRun(b, 100_000, 100_000_000)
		done, took, rss := r.run(b)
		b.ReportMetric(float64(rss)/(1<<20), "worker_peak_rss_MB")
		b.ReportMetric(float64(done.Progress.Done)/took.Seconds(), "messages/s")
		b.Logf("synced %d messages in %s; worker peak RSS %.1f MB", done.Progress.Done, took.Round(time.Second), float64(rss)/(1<<20))
	}
}
