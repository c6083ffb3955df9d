// Package exportdir is the export directory: the archives the export tasks
// write (each a file there and a row in the export table), their expiry and
// removal, the working directories of archives being written, and the
// files the API serves for download. Every process that serves downloads
// or writes archives must share the directory.
package exportdir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/inboxq/inboxq/internal/store"
)

// Dir is the export directory at Path, whose archives Store records.
type Dir struct {
	Store *store.Store
	Path  string
}

// partialPrefix names the working directories of archives being written;
// nothing with it is ever served.
const partialPrefix = ".partial-"

// partialMaxAge is how old a working directory must be before Prune treats
// it as left behind by a crash.
const partialMaxAge = 24 * time.Hour

// prunePage is how many expired archives one query returns.
const prunePage = 1000

// listLimit caps the list of a user's archives: exports live a week and
// backups are capped, so this is never reached in normal use.
const listLimit = 200

// WorkDir is where the archive of the task taskID is written before it is
// moved into place (see Place); whatever is there belongs to an earlier
// attempt of the same task.
func (d Dir) WorkDir(taskID int64) string {
	return filepath.Join(d.Path, partialPrefix+strconv.FormatInt(taskID, 10))
}

// Place moves a finished archive into the directory under name. The rename
// is the commit point: the archive appears whole or not at all.
func (d Dir) Place(path, name string) error {
	if err := os.Rename(path, filepath.Join(d.Path, name)); err != nil {
		return fmt.Errorf("moving archive into place: %w", err)
	}
	return nil
}

// file is where an archive's file is; a path that would leave the
// directory is refused (rows are ours, but a file name is never trusted
// blindly).
func (d Dir) file(e store.Export) (string, error) {
	if !filepath.IsLocal(e.Path) || filepath.Base(e.Path) != e.Path {
		return "", fmt.Errorf("export %d has an unsafe path %q", e.ID, e.Path)
	}
	return filepath.Join(d.Path, e.Path), nil
}

// List returns the owner's archives that have not expired, newest first.
func (d Dir) List(ctx context.Context, owner int64) ([]store.Export, error) {
	es, err := d.Store.ExportList(ctx, owner, listLimit)
	if err != nil {
		return nil, err
	}
	now, live := time.Now(), es[:0]
	for _, e := range es {
		if !e.Expired(now) {
			live = append(live, e)
		}
	}
	return live, nil
}

// Get returns one of the owner's archives (expired or not).
func (d Dir) Get(ctx context.Context, owner, id int64) (store.Export, error) {
	e, err := d.Store.ExportGet(ctx, id, owner)
	if err != nil {
		return e, fmt.Errorf("export %d: %w", id, err)
	}
	return e, nil
}

// Open opens an archive's file. A recorded archive whose file is missing
// (a worker on another machine wrote it to its own disk) is an internal
// error: the export directory must be shared by every process.
func (d Dir) Open(e store.Export) (io.ReadSeekCloser, error) {
	path, err := d.file(e)
	if err != nil {
		return nil, err
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening export %d: %w", e.ID, err)
	}
	return file, nil
}

// Prune deletes every expired archive (file, then row) and the working
// directories that crashed writers left behind; the hourly maintenance
// calls it. It returns how many archives it deleted.
func (d Dir) Prune(ctx context.Context) (int64, error) {
	n, err := d.prune(ctx, nil)
	if err != nil {
		return n, err
	}
	entries, err := os.ReadDir(d.Path)
	if errors.Is(err, os.ErrNotExist) {
		return n, nil
	}
	if err != nil {
		return n, fmt.Errorf("reading export directory: %w", err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), partialPrefix) {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > partialMaxAge {
			if err := os.RemoveAll(filepath.Join(d.Path, e.Name())); err != nil {
				return n, fmt.Errorf("removing abandoned export: %w", err)
			}
		}
	}
	return n, nil
}

// PruneOwner deletes the owner's expired archives.
func (d Dir) PruneOwner(ctx context.Context, owner int64) (int64, error) {
	return d.prune(ctx, &owner)
}

// prune deletes the expired archives of one owner (nil: everyone's).
func (d Dir) prune(ctx context.Context, owner *int64) (int64, error) {
	var n int64
	for {
		expired, err := d.Store.ExportListExpired(ctx, owner, prunePage)
		if err != nil || len(expired) == 0 {
			return n, err
		}
		deleted, err := d.Remove(ctx, expired)
		n += deleted
		if err != nil {
			return n, err
		}
	}
}

// Remove deletes archives: each file first, then the rows, so a failure
// part way leaves rows whose files may be gone (refused as expired, and
// retried), never files nobody can find. It returns how many rows it
// deleted.
func (d Dir) Remove(ctx context.Context, es []store.Export) (int64, error) {
	if len(es) == 0 {
		return 0, nil
	}
	ids := make([]int64, len(es))
	for i, e := range es {
		path, err := d.file(e)
		if err != nil {
			return 0, err
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("removing export %d: %w", e.ID, err)
		}
		ids[i] = e.ID
	}
	return d.Store.ExportDelete(ctx, ids)
}
