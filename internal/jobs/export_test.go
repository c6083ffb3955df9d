package jobs_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/archive"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
)

// exportStack is inboxq with the export family, writing archives to dir.
type exportStack struct {
	*inboxqtest.Stack
	dir string
}

// newExportStack starts a stack with the export family; schema reuses
// another stack's database (a second process), nil makes a fresh one.
func newExportStack(t *testing.T, schema *inboxqtest.Schema) *exportStack {
	t.Helper()
	if schema == nil {
		s := inboxqtest.TestSchema(t)
		schema = &s
	}
	dir := t.TempDir()
	st := store.New(schema.Pool)
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true, Schema: schema, NoRiverUI: true,
		Kinds: func(r *jobs.Registry) { jobs.RegisterExport(r, st, dir, inboxqtest.Logger(t)) }})
	return &exportStack{Stack: s, dir: dir}
}

// run starts a task of kind for p and waits for it to complete.
func (s *exportStack) run(t *testing.T, p inbox.Principal, kind string) (inbox.Task, jobs.ExportResult) {
	t.Helper()
	task, _, err := s.Tasks.Create(context.Background(), p, tasks.CreateParams{Kind: kind})
	require.NoError(t, err)
	done := s.WaitTask(t, task.ID, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted, inbox.TaskFailed))
	require.Equal(t, inbox.TaskCompleted, done.State, "errors: %+v", done.Errors)
	var res jobs.ExportResult
	require.NoError(t, json.Unmarshal(done.Result, &res))
	return done, res
}

// tarball is an archive's members, read back.
type tarball struct {
	names   []string
	members map[string][]byte
}

func readArchive(t *testing.T, path string) tarball {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	require.NoError(t, err)
	tr := tar.NewReader(gz)
	a := tarball{members: map[string][]byte{}}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		a.names = append(a.names, hdr.Name)
		a.members[hdr.Name] = b
	}
	return a
}

func jsonLines[T any](t *testing.T, b []byte) []T {
	t.Helper()
	var out []T
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var v T
		if err := dec.Decode(&v); err == io.EOF {
			return out
		} else {
			require.NoError(t, err)
		}
		out = append(out, v)
	}
}

func csvRows(t *testing.T, b []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	require.NoError(t, err)
	return rows
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestExportAfterSyncHoldsTheUsersData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Sync a mailbox through the fake Gmail, then hand the database to a
	// second process that also runs the export family.
	g := newGmailEnv(t, 1500, 1_000_000)
	g.synced(t)
	require.NoError(t, g.Client.Stop(ctx))
	s := newExportStack(t, &g.Schema)

	// A second mailbox of alice's, and bob's data, which must stay out.
	other, err := s.Store.AccountUpsert(ctx, g.user.UserID, "alice.work@example.com", []string{"scope-a"})
	require.NoError(t, err)
	require.NoError(t, s.Store.MessageUpsert(ctx, other.ID, []inbox.Message{
		{ID: "w1", ThreadID: "t1", From: "=HYPERLINK(\"http://evil\")", To: "alice.work@example.com", Subject: "hello, \"world\"",
			Date: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), Labels: []string{"INBOX", "Label_7"}, Size: 1234, ListUnsubscribe: "<mailto:u@x>"},
		{ID: "w2", ThreadID: "t1", From: "b@example.com", Subject: "second", Date: time.Date(2024, 5, 2, 12, 0, 0, 0, time.UTC), Labels: []string{"INBOX"}},
	}))
	bob, _ := s.User(t, "bob", false)
	bobs, err := s.Store.AccountUpsert(ctx, bob.UserID, "bob@example.com", []string{})
	require.NoError(t, err)
	require.NoError(t, s.Store.MessageUpsert(ctx, bobs.ID, []inbox.Message{{ID: "b1", ThreadID: "b1", Subject: "bob's secret", Date: time.Now()}}))
	_, _, err = s.Tasks.Create(ctx, bob, tasks.CreateParams{Kind: "test_echo", Args: json.RawMessage(`{"message":"bob"}`)})
	require.NoError(t, err)
	// A failed task of alice's, whose error the history keeps.
	failed, _, err := s.Tasks.Create(ctx, g.user, tasks.CreateParams{Kind: "test_fail", Args: json.RawMessage(`{"mode":"permanent"}`)})
	require.NoError(t, err)
	s.WaitTask(t, failed.ID, 30*time.Second, inboxqtest.InState(inbox.TaskFailed))

	done, res := s.run(t, g.user, "export_user_data")

	// What the database holds for alice.
	main, err := s.Store.MessageIDs(ctx, g.account.ID)
	require.NoError(t, err)
	require.Len(t, main, len(listable(t, g.fake)))
	var taskIDs []int64
	// The archive holds the tasks up to the export's, and its cleanup step
	// (inserted with it, waiting; removed once the export completed).
	rows, err := g.Schema.Pool.Query(ctx, `SELECT id FROM river_job WHERE args @> $1 AND id <= $2
		UNION SELECT job_id FROM workflow_step WHERE workflow_id = $3 AND name = 'cleanup' ORDER BY 1`,
		fmt.Sprintf(`{"owner_id":%d}`, g.user.UserID), done.ID, *done.WorkflowID)
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		taskIDs = append(taskIDs, id)
	}
	require.NoError(t, rows.Err())

	// The result, the row and the file agree.
	require.EqualValues(t, 2, res.Counts.Accounts)
	require.EqualValues(t, len(main)+2, res.Counts.Messages)
	require.EqualValues(t, len(taskIDs), res.Counts.Tasks)
	require.Equal(t, store.ExportKindExport, res.Kind)
	require.NotNil(t, res.ExpiresAt)
	require.WithinDuration(t, time.Now().Add(7*24*time.Hour), *res.ExpiresAt, time.Minute)
	e, err := s.Store.ExportGet(ctx, res.ExportID, g.user.UserID)
	require.NoError(t, err)
	require.Equal(t, done.ID, e.TaskID)
	path := filepath.Join(s.dir, e.Path)
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, e.Size, info.Size())
	require.Equal(t, e.SHA256, fileSHA(t, path))
	require.Equal(t, res.SHA256, e.SHA256)
	entries, err := os.ReadDir(s.dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "the archive alone: no working files left")

	// Progress counted every row read.
	require.NotNil(t, done.Progress)
	require.EqualValues(t, res.Counts.Accounts+res.Counts.Messages+res.Counts.Tasks, done.Progress.Done)
	require.EqualValues(t, done.Progress.Done, *done.Progress.Total)

	a := readArchive(t, path)
	require.Equal(t, []string{"manifest.json", "accounts.jsonl", "accounts.csv", "messages.jsonl", "messages.csv",
		"labels.jsonl", "labels.csv", "tasks.jsonl", "tasks.csv"}, a.names)
	var m archive.Manifest
	require.NoError(t, json.Unmarshal(a.members["manifest.json"], &m))
	require.Equal(t, "inboxq-export", m.Format)
	require.Equal(t, done.ID, m.TaskID)
	require.Equal(t, e.ArchiveID, m.ArchiveID)
	require.Equal(t, "alice", m.Owner.Name)
	require.Equal(t, e.Counts, store.ExportCounts(m.Counts))

	// Never a token, sealed or not, and nothing of bob's.
	var sealed []byte
	require.NoError(t, g.Schema.Pool.QueryRow(ctx, "SELECT refresh_token FROM account WHERE id = $1", g.account.ID).Scan(&sealed))
	require.NotEmpty(t, sealed)
	for name, b := range a.members {
		for _, secret := range []string{g.refresh, base64.StdEncoding.EncodeToString(sealed), hex.EncodeToString(sealed), "refresh_token", "token_key"} {
			require.NotContains(t, string(b), secret, name)
		}
		require.NotContains(t, string(b), "bob@example.com", name)
		require.NotContains(t, string(b), "bob's secret", name)
	}

	// Accounts.
	accts := jsonLines[archive.Account](t, a.members["accounts.jsonl"])
	require.Len(t, accts, 2)
	require.Equal(t, g.account.ID, accts[0].ID)
	require.Equal(t, mailboxAddr, accts[0].Email)
	require.Equal(t, inbox.AccountConnected, accts[0].Status)
	require.NotNil(t, accts[0].HistoryID)
	require.NotNil(t, accts[0].FullSyncedAt)
	require.Equal(t, []string{"scope-a"}, accts[1].Scopes)
	acsv := csvRows(t, a.members["accounts.csv"])
	require.Len(t, acsv, 3)
	require.Equal(t, []string{"id", "email", "status", "scopes", "history_id", "messages_total", "full_synced_at", "last_synced_at", "created_at"}, acsv[0])
	require.Equal(t, strconv.FormatInt(*accts[0].HistoryID, 10), acsv[1][4])

	// Messages: every one of alice's, in (account, id) order, as stored.
	msgs := jsonLines[archive.Message](t, a.members["messages.jsonl"])
	require.Len(t, msgs, len(main)+2)
	var ids []string
	for _, msg := range msgs[:len(main)] {
		require.Equal(t, g.account.ID, msg.AccountID)
		ids = append(ids, msg.ID)
	}
	require.Equal(t, main, ids)
	sample := msgs[417]
	var (
		thread, from, subject, unsub string
		date                         time.Time
		labels                       []string
		size                         int64
	)
	require.NoError(t, g.Schema.Pool.QueryRow(ctx, `SELECT thread_id, from_addr, subject, list_unsubscribe, internal_date, label_ids, size_estimate
		FROM message WHERE account_id = $1 AND id = $2`, g.account.ID, sample.ID).Scan(&thread, &from, &subject, &unsub, &date, &labels, &size))
	require.Equal(t, thread, sample.ThreadID)
	require.Equal(t, from, sample.From)
	require.Equal(t, subject, sample.Subject)
	require.Equal(t, unsub, sample.ListUnsubscribe)
	require.True(t, date.Equal(sample.Date), "%s vs %s", date, sample.Date)
	require.Equal(t, labels, sample.Labels)
	require.Equal(t, size, sample.Size)
	mcsv := csvRows(t, a.members["messages.csv"])
	require.Len(t, mcsv, len(msgs)+1)
	require.Equal(t, []string{strconv.FormatInt(g.account.ID, 10), sample.ID, sample.ThreadID}, mcsv[418][:3])
	require.Equal(t, strings.Join(sample.Labels, " "), mcsv[418][8])
	// A formula from a stranger is text in the CSV, and as it was in JSON.
	w1 := mcsv[len(mcsv)-2]
	require.Equal(t, "w1", w1[1])
	require.Equal(t, `'=HYPERLINK("http://evil")`, w1[3])
	require.Equal(t, `hello, "world"`, w1[5])
	require.Equal(t, `=HYPERLINK("http://evil")`, msgs[len(msgs)-2].From)

	// Labels, counted per account.
	ls := jsonLines[archive.Label](t, a.members["labels.jsonl"])
	require.EqualValues(t, len(ls), m.Counts.Labels)
	var inboxCount int64
	require.NoError(t, g.Schema.Pool.QueryRow(ctx, `SELECT count(*) FROM message WHERE account_id = $1 AND 'INBOX' = ANY (label_ids)`, g.account.ID).Scan(&inboxCount))
	require.Contains(t, ls, archive.Label{AccountID: g.account.ID, Label: "INBOX", Messages: inboxCount})
	require.Contains(t, ls, archive.Label{AccountID: other.ID, Label: "INBOX", Messages: 2})
	require.Contains(t, ls, archive.Label{AccountID: other.ID, Label: "Label_7", Messages: 1})

	// Task history: alice's tasks only, with the failure's error.
	ts := jsonLines[archive.Task](t, a.members["tasks.jsonl"])
	var got []int64
	for _, tk := range ts {
		got = append(got, tk.ID)
	}
	require.Equal(t, taskIDs, got)
	i := slices.IndexFunc(ts, func(tk archive.Task) bool { return tk.ID == failed.ID })
	require.Equal(t, inbox.TaskFailed, ts[i].State)
	require.Equal(t, "test_fail", ts[i].Kind)
	require.NotNil(t, ts[i].FinishedAt)
	require.Contains(t, ts[i].Errors[0].Error, "giving up")
	k := slices.IndexFunc(ts, func(tk archive.Task) bool { return tk.Kind == "sync_user_emails" })
	require.Equal(t, inbox.TaskCompleted, ts[k].State)
	require.Contains(t, string(ts[k].Result), `"messages":`)
	tcsv := csvRows(t, a.members["tasks.csv"])
	require.Len(t, tcsv, len(ts)+1)
	require.Equal(t, "failed", tcsv[i+1][3])
	require.Contains(t, tcsv[i+1][9], "giving up")

	// The format's reader takes it, and finds the checksum recorded (a
	// restore of it is internal/restore's test).
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	rd, err := archive.NewReader(f)
	require.NoError(t, err)
	require.Equal(t, m, rd.Manifest)
	for {
		_, _, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
	}
	sum, err := rd.Finish()
	require.NoError(t, err)
	require.Equal(t, e.SHA256, sum)
}

func TestBackupKeepsTheNewestFive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newExportStack(t, nil)
	alice, _ := s.User(t, "alice", false)
	bob, _ := s.User(t, "bob", false)
	_, export := s.run(t, alice, "export_user_data")
	_, bobs := s.run(t, bob, "backup_user_data")

	var backups []int64
	for i := range 7 {
		_, res := s.run(t, alice, "backup_user_data")
		require.Equal(t, store.ExportKindBackup, res.Kind)
		require.Nil(t, res.ExpiresAt, "backups expire by count, not age")
		backups = append(backups, res.ExportID)
		wantPruned := int64(0)
		if i >= 5 {
			wantPruned = 1 // the oldest, once a sixth is written
		}
		require.Equal(t, wantPruned, res.PrunedBackups)
	}
	es, err := s.Store.ExportList(ctx, alice.UserID, 100)
	require.NoError(t, err)
	var kept []int64
	for _, e := range es {
		if e.Kind == store.ExportKindBackup {
			kept = append(kept, e.ID)
			_, err := os.Stat(filepath.Join(s.dir, e.Path))
			require.NoError(t, err)
		}
	}
	want := slices.Clone(backups[2:])
	slices.Reverse(want)
	require.Equal(t, want, kept, "the newest five, newest first")
	require.Equal(t, export.ExportID, es[len(es)-1].ID, "exports are not backups")
	_, err = s.Store.ExportGet(ctx, bobs.ExportID, bob.UserID)
	require.NoError(t, err, "another user's backups are theirs")
	entries, err := os.ReadDir(s.dir)
	require.NoError(t, err)
	require.Len(t, entries, 5+1+1, "pruned backups' files are gone")

	// A backup is schedulable like any owned kind.
	_, err = s.Tasks.CreateSchedule(ctx, alice, tasks.ScheduleParams{Name: "nightly backup", Cron: "0 3 * * *", Timezone: "UTC", Kind: "backup_user_data", Priority: 4, Enabled: true})
	require.NoError(t, err)
}

// A new export prunes its owner's expired archives first (the hourly prune
// of everyone's is internal/exportdir's).
func TestExportPrunesItsOwnersExpiredArchives(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newExportStack(t, nil)
	alice, _ := s.User(t, "alice", false)
	bob, _ := s.User(t, "bob", false)
	_, a1 := s.run(t, alice, "export_user_data")
	_, b1 := s.run(t, bob, "export_user_data")
	expire := func(id int64) {
		_, err := s.Schema.Pool.Exec(ctx, "UPDATE export SET expires_at = now() - interval '1 minute' WHERE id = $1", id)
		require.NoError(t, err)
	}
	path := func(owner, id int64) string {
		e, err := s.Store.ExportGet(ctx, id, owner)
		require.NoError(t, err)
		return filepath.Join(s.dir, e.Path)
	}
	a1Path, b1Path := path(alice.UserID, a1.ExportID), path(bob.UserID, b1.ExportID)

	// A new export prunes its owner's expired ones first, no one else's.
	expire(a1.ExportID)
	expire(b1.ExportID)
	_, a2 := s.run(t, alice, "export_user_data")
	_, err := s.Store.ExportGet(ctx, a1.ExportID, alice.UserID)
	require.ErrorIs(t, err, inbox.ErrNotFound)
	require.NoFileExists(t, a1Path)
	require.FileExists(t, b1Path)
	_, err = s.Store.ExportGet(ctx, b1.ExportID, bob.UserID)
	require.NoError(t, err, "another owner's expired archive waits for the hourly prune")
	_, err = s.Store.ExportGet(ctx, a2.ExportID, alice.UserID)
	require.NoError(t, err, "the new one is recorded")
}

func TestExportStartsOverAfterACrashAndRecordsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newExportStack(t, nil)
	alice, _ := s.User(t, "alice", false)

	// An earlier attempt died half way: its working files are discarded.
	task, _, err := s.Tasks.Create(ctx, alice, tasks.CreateParams{Kind: "export_user_data", RunAt: time.Now().Add(time.Second)})
	require.NoError(t, err)
	work := filepath.Join(s.dir, ".partial-"+strconv.FormatInt(task.ID, 10))
	require.NoError(t, os.MkdirAll(work, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(work, "accounts.jsonl"), []byte("half a line"), 0o600))
	// A second request while it is in flight is the same task.
	dup, isDup, err := s.Tasks.Create(ctx, alice, tasks.CreateParams{Kind: "export_user_data"})
	require.NoError(t, err)
	require.True(t, isDup)
	require.Equal(t, task.ID, dup.ID)

	done := s.WaitTask(t, task.ID, 30*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	var res jobs.ExportResult
	require.NoError(t, json.Unmarshal(done.Result, &res))
	require.NoDirExists(t, work)
	e, err := s.Store.ExportGetByTask(ctx, task.ID)
	require.NoError(t, err)
	a := readArchive(t, filepath.Join(s.dir, e.Path))
	require.Empty(t, a.members["accounts.jsonl"])

	// Recording the same task's archive again keeps one row.
	again, err := s.Store.ExportRecord(ctx, store.Export{OwnerID: alice.UserID, TaskID: task.ID, ArchiveID: "again", Kind: store.ExportKindExport,
		Path: e.Path, Size: 1, SHA256: strings.Repeat("0", 64)})
	require.NoError(t, err)
	require.Equal(t, e.ID, again.ID)
	var rows int
	require.NoError(t, s.Schema.Pool.QueryRow(ctx, "SELECT count(*) FROM export WHERE task_id = $1", task.ID).Scan(&rows))
	require.Equal(t, 1, rows)
}

func TestAFailedExportCleansUpAfterItself(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newExportStack(t, nil)
	alice, _ := s.User(t, "alice", false)

	// An export scheduled ahead, whose earlier attempt died half way
	// (working files), and which also left an archive it never recorded;
	// then its owner cancels it before it runs again.
	task, _, err := s.Tasks.Create(ctx, alice, tasks.CreateParams{Kind: "export_user_data", RunAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.NotNil(t, task.WorkflowID, "an export is a workflow with its cleanup")
	work := filepath.Join(s.dir, ".partial-"+strconv.FormatInt(task.ID, 10))
	require.NoError(t, os.MkdirAll(work, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(work, "messages.jsonl"), []byte("half a line"), 0o600))
	orphan := filepath.Join(s.dir, fmt.Sprintf("export-%d.tar.gz", task.ID))
	require.NoError(t, os.WriteFile(orphan, []byte("never recorded"), 0o600))
	other := filepath.Join(s.dir, "export-999999.tar.gz") // not this task's: kept
	require.NoError(t, os.WriteFile(other, []byte("someone else's"), 0o600))

	_, err = s.Tasks.Cancel(ctx, alice, task.ID)
	require.NoError(t, err)
	w := waitWorkflowFinished(t, s.Stack, alice, *task.WorkflowID)
	require.Equal(t, inbox.TaskCancelled, w.State)
	var cleanup inbox.WorkflowStep
	for _, st := range w.Steps {
		if st.Name == "cleanup" {
			cleanup = st
		}
	}
	require.Equal(t, "completed", cleanup.Outcome)
	var res jobs.CleanExportResult
	require.NoError(t, json.Unmarshal(cleanup.Result, &res))
	require.ElementsMatch(t, []string{filepath.Base(work), filepath.Base(orphan)}, res.Removed)
	require.NoDirExists(t, work)
	require.NoFileExists(t, orphan)
	require.FileExists(t, other)

	// An export that completes skips its cleanup, and keeps its archive.
	done, res2 := s.run(t, alice, "export_user_data")
	w = waitWorkflowFinished(t, s.Stack, alice, *done.WorkflowID)
	require.Equal(t, inbox.TaskCompleted, w.State)
	require.Equal(t, "skipped", w.Steps[1].Outcome)
	e, err := s.Store.ExportGetByTask(ctx, done.ID)
	require.NoError(t, err)
	require.Equal(t, res2.ExportID, e.ID)
	require.FileExists(t, filepath.Join(s.dir, e.Path))
}

func waitWorkflowFinished(t *testing.T, s *inboxqtest.Stack, p inbox.Principal, id int64) inbox.Workflow {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		w, err := s.Tasks.Workflow(context.Background(), p, id)
		require.NoError(t, err)
		if w.State.Finished() {
			return w
		}
		require.False(t, time.Now().After(deadline), "workflow %d did not finish", id)
		time.Sleep(50 * time.Millisecond)
	}
}
