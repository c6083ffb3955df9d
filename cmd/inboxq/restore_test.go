package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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

// exportArchive writes alice's export in a database of its own and returns
// the database and the archive's path.
func exportArchive(t *testing.T, messages int) (inboxqtest.Schema, string) {
	t.Helper()
	ctx := context.Background()
	src := inboxqtest.TestSchema(t)
	dir := t.TempDir()
	st := store.New(src.Pool)
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true, Schema: &src, NoRiverUI: true,
		Kinds: func(r *jobs.Registry) { jobs.RegisterExport(r, st, dir, inboxqtest.Logger(t)) }})
	alice, _ := s.User(t, "alice", false)
	acct, err := st.AccountUpsert(ctx, alice.UserID, "alice@example.com", []string{"https://www.googleapis.com/auth/gmail.modify"})
	require.NoError(t, err)
	require.NoError(t, st.AccountSetToken(ctx, acct.ID, []byte("sealed-token-bytes"), "k1"))
	var ms []inbox.Message
	for i := range messages {
		ms = append(ms, inbox.Message{ID: fmt.Sprintf("m%05d", i), ThreadID: fmt.Sprintf("t%d", i/3), From: "news@example.com",
			Subject: fmt.Sprintf("issue %d", i), Date: time.Date(2025, 1, 1, 0, 0, i, 0, time.UTC), Labels: []string{"INBOX", "CATEGORY_UPDATES"}})
	}
	require.NoError(t, st.MessageUpsert(ctx, acct.ID, ms))
	task, _, err := s.Tasks.Create(ctx, alice, tasks.CreateParams{Kind: "export_user_data"})
	require.NoError(t, err)
	s.WaitTask(t, task.ID, 30*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	e, err := st.ExportGetByTask(ctx, task.ID)
	require.NoError(t, err)
	return src, filepath.Join(dir, e.Path)
}

func TestRestoreCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, path := exportArchive(t, 2500)

	// A fresh database with a user to restore into.
	dst := inboxqtest.EmptySchema(t)
	env := mapenv(map[string]string{"DATABASE_URL": dst.URL + "&search_path=" + dst.Name})
	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{"inboxq", "migrate"}, env, &out))
	require.NoError(t, run(ctx, []string{"inboxq", "token", "create", "--user", "carol"}, env, &out))

	out.Reset()
	require.NoError(t, run(ctx, []string{"inboxq", "restore", "--user", "carol", path}, env, &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 4, out.String())
	require.Regexp(t, `^restored export [0-9a-f]{32} of "alice" \(.+\) into carol$`, lines[0])
	require.Equal(t, "accounts: 1 added (disconnected: connect each again), 0 already there", lines[1])
	require.Equal(t, "messages: 2500", lines[2])
	require.Equal(t, "checksum: not recorded in this database (not checked)", lines[3])

	var status string
	var token []byte
	var n int
	require.NoError(t, dst.Pool.QueryRow(ctx, `SELECT a.status, a.refresh_token, (SELECT count(*) FROM message m WHERE m.account_id = a.id)
		FROM account a JOIN app_user u ON u.id = a.owner_id WHERE u.name = 'carol' AND a.email = 'alice@example.com'`).Scan(&status, &token, &n))
	require.Equal(t, "disconnected", status)
	require.Nil(t, token)
	require.Equal(t, 2500, n)

	// Twice is harmless.
	out.Reset()
	require.NoError(t, run(ctx, []string{"inboxq", "restore", "--user", "carol", path}, env, &out))
	require.Contains(t, out.String(), "accounts: 0 added (disconnected: connect each again), 1 already there\nmessages: 2500\n")

	// Plain errors for a missing user, a missing file, a damaged file.
	err := run(ctx, []string{"inboxq", "restore", "--user", "nobody", path}, env, &out)
	require.EqualError(t, err, `no user named "nobody" (create one with: inboxq token create --user nobody)`)
	missing := filepath.Join(t.TempDir(), "missing.tar.gz")
	err = run(ctx, []string{"inboxq", "restore", "--user", "carol", missing}, env, &out)
	require.EqualError(t, err, "cannot open "+missing+": no such file or directory")
	corrupt := filepath.Join(t.TempDir(), "corrupt.tar.gz")
	good, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(corrupt, good[:len(good)/2], 0o600))
	err = run(ctx, []string{"inboxq", "restore", "--user", "carol", corrupt}, env, &out)
	require.ErrorIs(t, err, archive.ErrCorrupt)
	require.ErrorContains(t, err, corrupt+": not a readable inboxq archive")
	require.ErrorContains(t, err, "nothing was restored")

	// The database that wrote the archive checks it against its checksum.
	srcEnv := mapenv(map[string]string{"DATABASE_URL": src.URL + "&search_path=" + src.Name})
	out.Reset()
	require.NoError(t, run(ctx, []string{"inboxq", "restore", "--user", "alice", path}, srcEnv, &out))
	require.Contains(t, out.String(), "accounts: 0 added (disconnected: connect each again), 1 already there")
	require.Contains(t, out.String(), "checksum: matches the recorded archive")
	var kept string
	require.NoError(t, src.Pool.QueryRow(ctx, "SELECT status FROM account WHERE email = 'alice@example.com'").Scan(&kept))
	require.Equal(t, "connected", kept, "an account already there is left as it is")
	changed := filepath.Join(t.TempDir(), "changed.tar.gz")
	recompress(t, path, changed)
	err = run(ctx, []string{"inboxq", "restore", "--user", "alice", changed}, srcEnv, &out)
	require.ErrorIs(t, err, restore.ErrChecksumMismatch)
	require.ErrorContains(t, err, "nothing was restored")

	// Usage.
	out.Reset()
	require.NoError(t, run(ctx, []string{"inboxq", "restore", "--help"}, env, &out))
	require.Contains(t, out.String(), "inboxq restore --user NAME FILE")
	require.Contains(t, out.String(), "-user")
	for _, bad := range [][]string{{"restore"}, {"restore", path}, {"restore", "--user", "carol"}, {"restore", "--user", "carol", path, "extra"}} {
		require.ErrorIs(t, run(ctx, append([]string{"inboxq"}, bad...), env, &out), errUsage, bad)
	}
}

func TestRestoreOfAGarbageFileIsOneLineWithoutAStackTrace(t *testing.T) {
	t.Parallel()
	s := inboxqtest.TestSchema(t)
	_, err := store.New(s.Pool).UserUpsert(context.Background(), "carol", inbox.RoleUser)
	require.NoError(t, err)
	garbage := filepath.Join(t.TempDir(), "garbage.tar.gz")
	require.NoError(t, os.WriteFile(garbage, []byte("definitely not gzip"), 0o600))

	cmd, out := startHelper(t, "INBOXQ_HELPER=main", "INBOXQ_HELPER_ARGS=restore --user carol "+garbage,
		"DATABASE_URL="+s.URL+"&search_path="+s.Name)
	err = cmd.Wait()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr)
	require.Equal(t, 1, exitErr.ExitCode())
	require.Equal(t, "inboxq: "+garbage+": not a readable inboxq archive (corrupt, truncated or another kind of file): gzip: invalid header; nothing was restored\n", out.String())
}

// recompress writes the archive at src again at another compression level:
// the same content, other bytes.
func recompress(t *testing.T, src, dst string) {
	t.Helper()
	f, err := os.Open(src)
	require.NoError(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	require.NoError(t, err)
	var b bytes.Buffer
	w, err := gzip.NewWriterLevel(&b, gzip.BestSpeed)
	require.NoError(t, err)
	_, err = io.Copy(w, gz)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, os.WriteFile(dst, b.Bytes(), 0o600))
}
