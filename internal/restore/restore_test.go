package restore_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/archive"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/restore"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
)

// exportStack is inboxq with the export family, whose archives the
// restores read: what `inboxq restore` is given is what the export task
// writes.
type exportStack struct {
	*inboxqtest.Stack
	dir string
}

func newExportStack(t *testing.T) *exportStack {
	t.Helper()
	schema := inboxqtest.TestSchema(t)
	dir := t.TempDir()
	st := store.New(schema.Pool)
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true, Schema: &schema, NoRiverUI: true,
		Kinds: func(r *jobs.Registry) { jobs.RegisterExport(r, st, dir, inboxqtest.Logger(t)) }})
	return &exportStack{Stack: s, dir: dir}
}

// export runs p's export and returns the path of its archive.
func (s *exportStack) export(t *testing.T, p inbox.Principal) string {
	t.Helper()
	ctx := context.Background()
	task, _, err := s.Tasks.Create(ctx, p, tasks.CreateParams{Kind: "export_user_data"})
	require.NoError(t, err)
	done := s.WaitTask(t, task.ID, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted, inbox.TaskFailed))
	require.Equal(t, inbox.TaskCompleted, done.State, "errors: %+v", done.Errors)
	e, err := s.Store.ExportGetByTask(ctx, task.ID)
	require.NoError(t, err)
	return filepath.Join(s.dir, e.Path)
}

// restoreFile restores the archive at path into owner's data.
func restoreFile(t *testing.T, st *store.Store, owner int64, path string) (restore.Result, error) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	return restore.Archive(context.Background(), st, owner, f)
}

// recompress writes the archive at src again at another compression level:
// the same content, other bytes (so another checksum).
func recompress(t *testing.T, src, dst string) {
	t.Helper()
	f, err := os.Open(src)
	require.NoError(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	require.NoError(t, err)
	var out bytes.Buffer
	w, err := gzip.NewWriterLevel(&out, gzip.BestSpeed)
	require.NoError(t, err)
	_, err = io.Copy(w, gz)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, os.WriteFile(dst, out.Bytes(), 0o600))
}

func TestRestoreBringsAccountsBackDisconnectedWithEveryMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newExportStack(t)

	// Alice: a synced mailbox with a token (more messages than one restore
	// batch), a second one, and a task; bob's data must stay out.
	alice, _ := s.User(t, "alice", false)
	main, err := s.Store.AccountUpsert(ctx, alice.UserID, "alice@example.com", []string{"https://www.googleapis.com/auth/gmail.modify"})
	require.NoError(t, err)
	require.NoError(t, s.Store.AccountSetToken(ctx, main.ID, []byte("sealed-token-bytes"), "k1"))
	var ms []inbox.Message
	for i := range 1500 {
		ms = append(ms, inbox.Message{ID: fmt.Sprintf("m%05d", i), ThreadID: fmt.Sprintf("t%d", i/3), From: fmt.Sprintf("sender%d@example.com", i%7),
			To: "alice@example.com", Subject: fmt.Sprintf("issue %d", i), Snippet: "…", Date: time.Date(2025, 1, 1, 0, 0, i, 0, time.UTC),
			Labels: []string{"INBOX", fmt.Sprintf("Label_%d", i%3)}, Size: int64(1000 + i), ListUnsubscribe: "<mailto:u@x>", HistoryID: uint64(5000 + i)})
	}
	require.NoError(t, s.Store.MessageUpsert(ctx, main.ID, ms))
	require.NoError(t, s.Store.AccountFullSynced(ctx, main.ID, 7777, int64(len(ms))))
	other, err := s.Store.AccountUpsert(ctx, alice.UserID, "alice.work@example.com", []string{"scope-a"})
	require.NoError(t, err)
	require.NoError(t, s.Store.MessageUpsert(ctx, other.ID, []inbox.Message{
		{ID: "w1", ThreadID: "t1", From: "=HYPERLINK(\"http://evil\")", Subject: "hello, \"world\"", Date: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), Labels: []string{"INBOX"}},
		{ID: "w2", ThreadID: "t1", From: "b@example.com", Subject: "second", Date: time.Date(2024, 5, 2, 12, 0, 0, 0, time.UTC), Labels: []string{"INBOX"}},
	}))
	bob, _ := s.User(t, "bob", false)
	bobs, err := s.Store.AccountUpsert(ctx, bob.UserID, "bob@example.com", []string{})
	require.NoError(t, err)
	require.NoError(t, s.Store.MessageUpsert(ctx, bobs.ID, []inbox.Message{{ID: "b1", ThreadID: "b1", Subject: "bob's secret", Date: time.Now()}}))
	path := s.export(t, alice)
	mainIDs, err := s.Store.MessageIDs(ctx, main.ID)
	require.NoError(t, err)
	total := len(mainIDs) + 2

	// Restore into a fresh database, for a new user: the accounts come back
	// disconnected, without tokens, with every message.
	fresh := inboxqtest.TestSchema(t)
	fst := store.New(fresh.Pool)
	carol, err := fst.UserUpsert(ctx, "carol", inbox.RoleUser)
	require.NoError(t, err)
	rr, err := restoreFile(t, fst, carol.UserID, path)
	require.NoError(t, err)
	require.EqualValues(t, 2, rr.AccountsCreated)
	require.EqualValues(t, total, rr.Messages)
	require.False(t, rr.Verified, "another database never recorded it")
	require.Equal(t, "alice", rr.Manifest.Owner.Name)
	require.Equal(t, store.ExportKindExport, rr.Manifest.Kind)
	restored, err := fst.AccountList(ctx, &carol.UserID)
	require.NoError(t, err)
	require.Len(t, restored, 2)
	for _, ac := range restored {
		require.Equal(t, inbox.AccountDisconnected, ac.Status)
		require.Empty(t, ac.SealedToken)
	}
	require.Equal(t, "alice@example.com", restored[0].Email)
	require.NotNil(t, restored[0].HistoryID)
	require.EqualValues(t, 7777, *restored[0].HistoryID)
	require.NotNil(t, restored[0].FullSyncedAt)
	require.Equal(t, []string{"scope-a"}, restored[1].Scopes)
	back, err := fst.MessageIDs(ctx, restored[0].ID)
	require.NoError(t, err)
	require.Equal(t, mainIDs, back)
	page, err := fst.ExportMessagePage(ctx, carol.UserID, restored[0].ID, "", 1000)
	require.NoError(t, err)
	sample := ms[417]
	j := slices.IndexFunc(page, func(am store.AccountMessage) bool { return am.ID == sample.ID })
	require.Equal(t, sample.Subject, page[j].Subject)
	require.Equal(t, sample.From, page[j].From)
	require.Equal(t, sample.Labels, page[j].Labels)
	require.Equal(t, sample.Size, page[j].Size)
	require.Equal(t, sample.HistoryID, page[j].HistoryID)
	require.True(t, sample.Date.Equal(page[j].Date))
	work, err := fst.ExportMessagePage(ctx, carol.UserID, restored[1].ID, "", 10)
	require.NoError(t, err)
	require.Len(t, work, 2)
	require.Equal(t, `=HYPERLINK("http://evil")`, work[0].From, "restored from the JSON, as it was")
	var bobsThere int64
	require.NoError(t, fresh.Pool.QueryRow(ctx, "SELECT count(*) FROM message WHERE id = 'b1'").Scan(&bobsThere))
	require.Zero(t, bobsThere)

	// Again: nothing new, nothing doubled.
	rr, err = restoreFile(t, fst, carol.UserID, path)
	require.NoError(t, err)
	require.EqualValues(t, 0, rr.AccountsCreated)
	require.EqualValues(t, 2, rr.AccountsKept)
	var n int64
	require.NoError(t, fresh.Pool.QueryRow(ctx, "SELECT count(*) FROM message").Scan(&n))
	require.EqualValues(t, total, n)

	// In the database that wrote it, the checksum is checked: the same
	// content compressed otherwise is refused, and nothing is written.
	dave, _ := s.User(t, "dave", false)
	rr, err = restoreFile(t, s.Store, dave.UserID, path)
	require.NoError(t, err)
	require.True(t, rr.Verified)
	copyPath := filepath.Join(t.TempDir(), "copy.tar.gz")
	recompress(t, path, copyPath)
	erin, _ := s.User(t, "erin", false)
	_, err = restoreFile(t, s.Store, erin.UserID, copyPath)
	require.ErrorIs(t, err, restore.ErrChecksumMismatch)
	none, err := s.Store.AccountList(ctx, &erin.UserID)
	require.NoError(t, err)
	require.Empty(t, none, "one transaction: nothing restored")
}

func TestRestoreRefusesCorruptArchives(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newExportStack(t)
	alice, _ := s.User(t, "alice", false)
	acct, err := s.Store.AccountUpsert(ctx, alice.UserID, "a@example.com", []string{})
	require.NoError(t, err)
	var msgs []inbox.Message
	for i := range 3000 {
		msgs = append(msgs, inbox.Message{ID: fmt.Sprintf("m%05d", i), ThreadID: "t", Subject: strings.Repeat("x", i%50), Date: time.Now()})
	}
	require.NoError(t, s.Store.MessageUpsert(ctx, acct.ID, msgs))
	good, err := os.ReadFile(s.export(t, alice))
	require.NoError(t, err)

	bob, _ := s.User(t, "bob", false)
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0xff
	for name, b := range map[string][]byte{
		"not gzip":  []byte("hello, this is not an archive"),
		"truncated": good[:len(good)*2/3],
		"flipped":   flipped,
		"empty":     nil,
	} {
		_, err := restore.Archive(ctx, s.Store, bob.UserID, bytes.NewReader(b))
		require.ErrorIs(t, err, archive.ErrCorrupt, name)
		as, lerr := s.Store.AccountList(ctx, &bob.UserID)
		require.NoError(t, lerr)
		require.Empty(t, as, "%s: nothing restored", name)
	}

	// A gzip of something else is not an archive either.
	var other bytes.Buffer
	gz := gzip.NewWriter(&other)
	tw := tar.NewWriter(gz)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "hello.txt", Size: 2, Mode: 0o600}))
	_, err = tw.Write([]byte("hi"))
	require.NoError(t, err)
	require.NoError(t, errors.Join(tw.Close(), gz.Close()))
	_, err = restore.Archive(ctx, s.Store, bob.UserID, &other)
	require.ErrorIs(t, err, archive.ErrCorrupt)
	require.ErrorContains(t, err, "manifest.json")

	// A well-formed archive whose messages name an account it does not
	// hold is refused whole.
	work := t.TempDir()
	w := archive.NewWriter(work)
	accts, err := archive.NewSection[archive.Account](w)
	require.NoError(t, err)
	require.NoError(t, accts.Write(archive.Account{ID: 1, Email: "kept@example.com"}))
	require.NoError(t, accts.Close())
	ms, err := archive.NewSection[archive.Message](w)
	require.NoError(t, err)
	require.NoError(t, ms.Write(archive.Message{AccountID: 1, ID: "fine"}))
	require.NoError(t, ms.Write(archive.Message{AccountID: 2, ID: "stray"}))
	require.NoError(t, ms.Close())
	stray := filepath.Join(work, "stray.tar.gz")
	_, _, err = w.Pack(stray, archive.Manifest{ArchiveID: archive.NewID(), Kind: store.ExportKindExport})
	require.NoError(t, err)
	_, err = restoreFile(t, s.Store, bob.UserID, stray)
	require.ErrorIs(t, err, archive.ErrCorrupt)
	require.ErrorContains(t, err, `message "stray" of unknown account 2`)
	as, err := s.Store.AccountList(ctx, &bob.UserID)
	require.NoError(t, err)
	require.Empty(t, as, "nothing restored")

	// One that repeats a message is refused as damaged, not failed as a
	// database error (a repeat in one upsert was: CI once flipped a byte
	// into one).
	work = t.TempDir()
	w = archive.NewWriter(work)
	accts, err = archive.NewSection[archive.Account](w)
	require.NoError(t, err)
	require.NoError(t, accts.Write(archive.Account{ID: 1, Email: "kept@example.com"}))
	require.NoError(t, accts.Close())
	ms, err = archive.NewSection[archive.Message](w)
	require.NoError(t, err)
	require.NoError(t, ms.Write(archive.Message{AccountID: 1, ID: "twice"}))
	require.NoError(t, ms.Write(archive.Message{AccountID: 1, ID: "twice"}))
	require.NoError(t, ms.Close())
	twice := filepath.Join(work, "twice.tar.gz")
	_, _, err = w.Pack(twice, archive.Manifest{ArchiveID: archive.NewID(), Kind: store.ExportKindExport})
	require.NoError(t, err)
	_, err = restoreFile(t, s.Store, bob.UserID, twice)
	require.ErrorIs(t, err, archive.ErrCorrupt)
	require.ErrorContains(t, err, `message "twice" appears twice`)
	as, err = s.Store.AccountList(ctx, &bob.UserID)
	require.NoError(t, err)
	require.Empty(t, as, "nothing restored")

	// A value the database cannot store (a NUL) is refused as such in an
	// intact archive, and reported as damage when the archive's checksum
	// fails.
	work = t.TempDir()
	w = archive.NewWriter(work)
	accts, err = archive.NewSection[archive.Account](w)
	require.NoError(t, err)
	require.NoError(t, accts.Write(archive.Account{ID: 1, Email: "kept@example.com"}))
	require.NoError(t, accts.Close())
	ms, err = archive.NewSection[archive.Message](w)
	require.NoError(t, err)
	require.NoError(t, ms.Write(archive.Message{AccountID: 1, ID: "nul", Subject: "a\x00b"}))
	require.NoError(t, ms.Close())
	nul := filepath.Join(work, "nul.tar.gz")
	_, _, err = w.Pack(nul, archive.Manifest{ArchiveID: archive.NewID(), Kind: store.ExportKindExport})
	require.NoError(t, err)
	b, err := os.ReadFile(nul)
	require.NoError(t, err)
	_, err = restore.Archive(ctx, s.Store, bob.UserID, bytes.NewReader(b))
	require.ErrorIs(t, err, restore.ErrUnstorable, "the database would refuse a NUL: refused before the statement")
	require.ErrorContains(t, err, `message "nul": its subject holds a NUL character`)
	require.NotErrorIs(t, err, archive.ErrCorrupt, "an intact archive is not called damaged")
	b[len(b)-8] ^= 0xff // gzip's CRC-32 of the content
	_, err = restore.Archive(ctx, s.Store, bob.UserID, bytes.NewReader(b))
	require.ErrorIs(t, err, archive.ErrCorrupt)
	as, err = s.Store.AccountList(ctx, &bob.UserID)
	require.NoError(t, err)
	require.Empty(t, as, "nothing restored")
}

// Values the database cannot store are refused by name before any
// statement, and nothing is restored.
func TestRestoreRefusesUnstorableValues(t *testing.T) {
	t.Parallel()
	s := newExportStack(t)
	ctx := context.Background()
	for name, c := range map[string]struct {
		acct archive.Account
		msg  archive.Message
		want string
	}{
		"NUL in an email":   {acct: archive.Account{ID: 1, Email: "a\x00@example.com"}, want: "account 1: its email or a scope holds a NUL character"},
		"NUL in a scope":    {acct: archive.Account{ID: 1, Email: "a@example.com", Scopes: []string{"x\x00"}}, want: "account 1: its email or a scope holds a NUL character"},
		"NUL in a label":    {msg: archive.Message{AccountID: 1, ID: "m", Labels: []string{"INBOX", "\x00"}}, want: `message "m": a label holds a NUL character`},
		"NUL in the sender": {msg: archive.Message{AccountID: 1, ID: "m", From: "\x00"}, want: `message "m": its from holds a NUL character`},
		"history id":        {msg: archive.Message{AccountID: 1, ID: "m", HistoryID: math.MaxUint64}, want: `message "m": history id 18446744073709551615 is beyond a bigint`},
	} {
		p, _ := s.User(t, "u"+strings.ReplaceAll(name, " ", ""), false)
		if c.acct.Email == "" {
			c.acct = archive.Account{ID: 1, Email: "kept@example.com"}
		}
		w := archive.NewWriter(t.TempDir())
		accts, err := archive.NewSection[archive.Account](w)
		require.NoError(t, err)
		require.NoError(t, accts.Write(c.acct))
		require.NoError(t, accts.Close())
		ms, err := archive.NewSection[archive.Message](w)
		require.NoError(t, err)
		if c.msg.ID != "" {
			require.NoError(t, ms.Write(archive.Message{AccountID: 1, ID: "fine"}))
			require.NoError(t, ms.Write(c.msg))
		}
		require.NoError(t, ms.Close())
		path := filepath.Join(t.TempDir(), "a.tar.gz")
		_, _, err = w.Pack(path, archive.Manifest{ArchiveID: archive.NewID(), Kind: store.ExportKindExport})
		require.NoError(t, err)
		_, err = restoreFile(t, s.Store, p.UserID, path)
		require.ErrorIs(t, err, restore.ErrUnstorable, name)
		require.ErrorContains(t, err, c.want, name)
		as, err := s.Store.AccountList(ctx, &p.UserID)
		require.NoError(t, err)
		require.Empty(t, as, "%s: nothing restored", name)
	}
}
