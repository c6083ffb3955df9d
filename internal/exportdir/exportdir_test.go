package exportdir_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/exportdir"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/store"
)

// newDir is an export directory whose rows live in a rolled-back
// transaction, with a function that records an archive (its file
// written) and one that expires it.
func newDir(t *testing.T) (exportdir.Dir, func(owner int64, kind string) store.Export, func(id int64)) {
	t.Helper()
	ctx := context.Background()
	tx := inboxqtest.TestTx(t)
	d := exportdir.Dir{Store: store.WithTx(tx), Path: t.TempDir()}
	var task int64
	record := func(owner int64, kind string) store.Export {
		t.Helper()
		task++
		name := fmt.Sprintf("%s-%d.tar.gz", kind, task)
		require.NoError(t, os.WriteFile(filepath.Join(d.Path, name), []byte(name), 0o600))
		e, err := d.Store.ExportRecord(ctx, store.Export{OwnerID: owner, TaskID: task, ArchiveID: name, Kind: kind, Path: name,
			Size: int64(len(name)), SHA256: strings.Repeat("0", 64)})
		require.NoError(t, err)
		return e
	}
	expire := func(id int64) {
		t.Helper()
		_, err := tx.Exec(ctx, "UPDATE export SET expires_at = now() - interval '1 minute' WHERE id = $1", id)
		require.NoError(t, err)
	}
	return d, record, expire
}

func user(t *testing.T, d exportdir.Dir, name string) int64 {
	t.Helper()
	p, err := d.Store.UserUpsert(context.Background(), name, inbox.RoleUser)
	require.NoError(t, err)
	return p.UserID
}

func TestPruneTakesEveryonesExpiredArchivesAndAbandonedWork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, record, expire := newDir(t)
	alice, bob := user(t, d, "alice"), user(t, d, "bob")
	a1, a2, b1 := record(alice, store.ExportKindExport), record(alice, store.ExportKindExport), record(bob, store.ExportKindExport)
	backup := record(bob, store.ExportKindBackup)
	expire(a1.ID)
	expire(b1.ID)

	// One owner's prune leaves the others' expired archives.
	n, err := d.PruneOwner(ctx, alice)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	require.NoFileExists(t, filepath.Join(d.Path, a1.Path))
	require.FileExists(t, filepath.Join(d.Path, b1.Path))
	_, err = d.Get(ctx, alice, a1.ID)
	require.ErrorIs(t, err, inbox.ErrNotFound)

	// The hourly prune takes everyone's, and working directories left by
	// a crash a day ago (not one being written now).
	stale := d.WorkDir(999)
	require.Equal(t, filepath.Join(d.Path, ".partial-999"), stale)
	require.NoError(t, os.Mkdir(stale, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(stale, "messages.jsonl"), []byte("{}"), 0o600))
	old := time.Now().Add(-25 * time.Hour)
	require.NoError(t, os.Chtimes(stale, old, old))
	busy := d.WorkDir(1000)
	require.NoError(t, os.Mkdir(busy, 0o700))
	n, err = d.Prune(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	require.NoFileExists(t, filepath.Join(d.Path, b1.Path))
	require.NoDirExists(t, stale)
	require.DirExists(t, busy)
	for _, live := range []store.Export{a2, backup} {
		_, err = d.Get(ctx, live.OwnerID, live.ID)
		require.NoError(t, err, "the live ones stay")
		require.FileExists(t, filepath.Join(d.Path, live.Path))
	}
	n, err = d.Prune(ctx)
	require.NoError(t, err)
	require.Zero(t, n)

	// A directory that does not exist yet is nothing to prune.
	d.Path = filepath.Join(t.TempDir(), "none")
	n, err = d.Prune(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestDownloadsAreTheOwnersLiveArchives(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, record, expire := newDir(t)
	alice, bob := user(t, d, "alice"), user(t, d, "bob")
	old, live, backup := record(alice, store.ExportKindExport), record(alice, store.ExportKindExport), record(alice, store.ExportKindBackup)
	record(bob, store.ExportKindExport)
	expire(old.ID)

	es, err := d.List(ctx, alice)
	require.NoError(t, err)
	var ids []int64
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	require.Equal(t, []int64{backup.ID, live.ID}, ids, "live ones, newest first")

	// Get returns an expired one too (the API answers 410 for it), never
	// another owner's.
	e, err := d.Get(ctx, alice, old.ID)
	require.NoError(t, err)
	require.True(t, e.Expired(time.Now()))
	_, err = d.Get(ctx, bob, live.ID)
	require.ErrorIs(t, err, inbox.ErrNotFound)

	f, err := d.Open(live)
	require.NoError(t, err)
	b, err := io.ReadAll(f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Equal(t, live.Path, string(b))

	// A recorded file that is gone, or a path that would leave the
	// directory, is an error.
	require.NoError(t, os.Remove(filepath.Join(d.Path, live.Path)))
	_, err = d.Open(live)
	require.ErrorIs(t, err, os.ErrNotExist)
	for _, p := range []string{"../x.tar.gz", "/etc/passwd", "a/b.tar.gz", ""} {
		bad := live
		bad.Path = p
		_, err = d.Open(bad)
		require.ErrorContains(t, err, "unsafe path", p)
		_, err = d.Remove(ctx, []store.Export{bad})
		require.ErrorContains(t, err, "unsafe path", p)
	}
}

func TestPlaceMovesAFinishedArchiveIn(t *testing.T) {
	t.Parallel()
	d := exportdir.Dir{Path: t.TempDir()}
	work := d.WorkDir(7)
	require.NoError(t, os.Mkdir(work, 0o700))
	tmp := filepath.Join(work, "export-7.tar.gz")
	require.NoError(t, os.WriteFile(tmp, []byte("x"), 0o600))
	require.NoError(t, d.Place(tmp, "export-7.tar.gz"))
	require.FileExists(t, filepath.Join(d.Path, "export-7.tar.gz"))
	require.NoFileExists(t, tmp)
}
