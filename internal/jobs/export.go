package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/inboxq/inboxq/internal/archive"
	"github.com/inboxq/inboxq/internal/exportdir"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/store"
)

// RegisterExport adds the export family (an export people download, and
// periodic backups) to reg. Archives are written in the export directory
// dir (see internal/exportdir); their format is internal/archive's.
func RegisterExport(reg *Registry, st *store.Store, dir string, logger *slog.Logger) {
	a := archiver{store: st, dir: exportdir.Dir{Store: st, Path: dir}, logger: logger}
	Add(reg, &archiveWorker[ExportUserDataArgs]{archiver: a}, Info{
		Title:       "Export my data",
		Description: "Writes your accounts (never their tokens), message metadata, labels and task history to one .tar.gz of JSON Lines and CSV, downloadable for 7 days.",
		Notify:      true, Result: ExportResult{}, Example: ExportUserDataArgs{},
		OnFailure: cleanExport,
	})
	Add(reg, &archiveWorker[BackupUserDataArgs]{archiver: a}, Info{
		Title:       "Back up my data",
		Description: "The export's archive, kept as a backup: meant for a schedule; the newest 5 per user are kept. Restore with `inboxq restore`.",
		Result:      ExportResult{}, Example: BackupUserDataArgs{},
		OnFailure: cleanExport,
	})
	Add(reg, &cleanExportWorker{archiver: a}, Info{
		Title: "Clean up a failed export",
		Description: "Removes what an export or backup that failed for good or was cancelled left in the export directory " +
			"(its working directory, an archive never recorded). Runs by itself after such a task; a recorded archive is kept.",
		Result: CleanExportResult{}, Example: CleanExportArgs{},
	})
}

func cleanExport(owner int64) river.JobArgs { return CleanExportArgs{Owned: Owned{OwnerID: owner}} }

// CleanExportArgs cleans up after the failed export steps it depends on.
type CleanExportArgs struct {
	Owned
}

// Kind names the job.
func (CleanExportArgs) Kind() string { return "clean_export" }

// InsertOpts: the default queue.
func (CleanExportArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueDefault, Priority: 3, MaxAttempts: 5}
}

// CleanExportResult is what clean_export records.
type CleanExportResult struct {
	Removed []string `json:"removed" doc:"What it removed from the export directory"`
}

type cleanExportWorker struct {
	WorkerDefaults[CleanExportArgs]
	archiver
}

// Work removes the working directory of each export step it depends on
// that did not complete, and its archive file when no export row records
// it (a crash between placing and recording). Removing what is already
// gone is no error: a re-run does nothing twice.
func (w *cleanExportWorker) Work(ctx context.Context, job *river.Job[CleanExportArgs]) error {
	deps, err := StepDeps(ctx, w.store, job.JobRow)
	if err != nil {
		return err
	}
	res := CleanExportResult{Removed: []string{}}
	for _, d := range deps {
		if d.Outcome == "completed" || (d.Kind != "export_user_data" && d.Kind != "backup_user_data") {
			continue
		}
		work := w.dir.WorkDir(d.TaskID)
		if _, err := os.Stat(work); err == nil {
			if err := os.RemoveAll(work); err != nil {
				return fmt.Errorf("removing %s: %w", work, err)
			}
			res.Removed = append(res.Removed, filepath.Base(work))
		}
		if _, err := w.store.ExportGetByTask(ctx, d.TaskID); errors.Is(err, inbox.ErrNotFound) {
			kind := store.ExportKindExport
			if d.Kind == "backup_user_data" {
				kind = store.ExportKindBackup
			}
			name := archiveName(kind, d.TaskID)
			if err := os.Remove(filepath.Join(w.dir.Path, name)); err == nil {
				res.Removed = append(res.Removed, name)
			} else if !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("removing %s: %w", name, err)
			}
		} else if err != nil {
			return err
		}
	}
	w.logger.InfoContext(ctx, "export_cleaned", slog.Int64("task_id", job.ID), slog.Any("removed", res.Removed))
	return RecordOutput(ctx, res)
}

// archiveArgs are the args of the export family.
type archiveArgs interface {
	river.JobArgs
	Owner() int64
	// exportKind is the store's kind of the archive (export or backup).
	exportKind() string
}

// ExportUserDataArgs starts an export of the caller's data.
type ExportUserDataArgs struct {
	Owned
}

// Kind names the job.
func (ExportUserDataArgs) Kind() string { return "export_user_data" }

// InsertOpts: the default queue (people wait for it), one per owner in flight.
func (ExportUserDataArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueDefault, Priority: 2, MaxAttempts: 5,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: unfinished}}
}

func (ExportUserDataArgs) exportKind() string { return store.ExportKindExport }

// BackupUserDataArgs starts a backup of the caller's data.
type BackupUserDataArgs struct {
	Owned
}

// Kind names the job.
func (BackupUserDataArgs) Kind() string { return "backup_user_data" }

// InsertOpts: the default queue at the lowest priority, so that interactive
// work goes first; not the maintenance queue, whose two workers must stay
// free for the health monitor. One per owner in flight.
func (BackupUserDataArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueDefault, Priority: 4, MaxAttempts: 5,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: unfinished}}
}

func (BackupUserDataArgs) exportKind() string { return store.ExportKindBackup }

// archiveName is the file name of a task's archive.
func archiveName(kind string, taskID int64) string { return fmt.Sprintf("%s-%d.tar.gz", kind, taskID) }

// keepBackups is how many backups per user are kept.
const keepBackups = 5

// exportPage is how many rows each keyset query reads.
const exportPage = 1000

// ExportResult is an export's or a backup's recorded output.
type ExportResult struct {
	ExportID      int64              `json:"export_id" doc:"The archive's id (see list-exports, download-export)"`
	Kind          string             `json:"kind" enum:"export,backup" doc:"export or backup"`
	Size          int64              `json:"size" doc:"Size of the archive file, in bytes"`
	SHA256        string             `json:"sha256" doc:"Hex SHA-256 of the file, to check a download"`
	Counts        store.ExportCounts `json:"counts"`
	ExpiresAt     *time.Time         `json:"expires_at,omitempty" doc:"When an export is deleted (7 days on); absent for backups"`
	PrunedBackups int64              `json:"pruned_backups,omitempty" doc:"Older backups deleted to keep the newest 5; absent for exports and when none"`
}

// archiver is what the export workers share.
type archiver struct {
	store  *store.Store
	dir    exportdir.Dir
	logger *slog.Logger
}

type archiveWorker[T archiveArgs] struct {
	WorkerDefaults[T]
	archiver
}

// Timeout: a large mailbox's metadata takes minutes to read and compress.
func (w *archiveWorker[T]) Timeout(*river.Job[T]) time.Duration { return MaxJobTimeout }

// Work writes the archive in two steps. "archive" writes the whole file
// (a retry starts it over: the writes are local and cheap to repeat),
// renames it into place and records it together with the step, so a retry
// after that commit never writes it twice. "finish" applies the backups'
// retention and records the output.
func (w *archiveWorker[T]) Work(ctx context.Context, job *river.Job[T]) error {
	owner, kind := job.Args.Owner(), job.Args.exportKind()
	rep := progress.From(ctx)
	river.ResumableStep(ctx, "archive", nil, Step(job.JobRow, w.logger, func(ctx context.Context) error {
		if _, err := w.dir.PruneOwner(ctx, owner); err != nil {
			return err
		}
		e, err := w.write(ctx, rep, job.ID, owner, kind)
		if err != nil {
			return err
		}
		err = w.store.InTx(ctx, func(tx pgx.Tx, st *store.Store) error {
			if _, err := st.ExportRecord(ctx, e); err != nil {
				return err
			}
			_, err := river.ResumableSetStepTx[*riverpgxv5.Driver](ctx, tx, job)
			return err
		})
		if err != nil {
			// Not recorded: nobody can download it, and a retry writes it again.
			_ = os.Remove(filepath.Join(w.dir.Path, e.Path))
			return err
		}
		w.logger.InfoContext(ctx, "export_written", slog.Int64("task_id", job.ID), slog.Int64("owner_id", owner),
			slog.String("kind", kind), slog.Int64("size", e.Size), slog.Int64("messages", e.Counts.Messages))
		return nil
	}))
	river.ResumableStep(ctx, "finish", nil, Step(job.JobRow, w.logger, func(ctx context.Context) error {
		e, err := w.store.ExportGetByTask(ctx, job.ID)
		if err != nil {
			return err
		}
		res := ExportResult{ExportID: e.ID, Kind: e.Kind, Size: e.Size, SHA256: e.SHA256, Counts: e.Counts, ExpiresAt: e.ExpiresAt}
		if kind == store.ExportKindBackup {
			old, err := w.store.ExportBackupsBeyond(ctx, owner, keepBackups)
			if err != nil {
				return err
			}
			if res.PrunedBackups, err = w.dir.Remove(ctx, old); err != nil {
				return err
			}
		}
		rep.Stage("done", fmt.Sprintf("%d messages, %d bytes", e.Counts.Messages, e.Size))
		return RecordOutput(ctx, res)
	}))
	return nil
}

// write builds the owner's archive in a working directory and moves it
// into place; it returns the export row to record.
func (a archiver) write(ctx context.Context, rep *progress.Reporter, taskID, owner int64, kind string) (store.Export, error) {
	if err := os.MkdirAll(a.dir.Path, 0o700); err != nil {
		return store.Export{}, fmt.Errorf("creating export directory: %w", err)
	}
	work := a.dir.WorkDir(taskID)
	// Whatever an earlier attempt left is discarded: the archive starts over.
	if err := os.RemoveAll(work); err != nil {
		return store.Export{}, fmt.Errorf("clearing working directory: %w", err)
	}
	if err := os.Mkdir(work, 0o700); err != nil {
		return store.Export{}, fmt.Errorf("creating working directory: %w", err)
	}
	defer os.RemoveAll(work)

	user, err := a.store.UserGetByID(ctx, owner)
	if errors.Is(err, inbox.ErrNotFound) {
		return store.Export{}, river.JobCancel(fmt.Errorf("user %d is gone", owner))
	}
	if err != nil {
		return store.Export{}, err
	}
	counts, err := a.store.ExportCount(ctx, owner)
	if err != nil {
		return store.Export{}, err
	}
	rep.SetTotal(counts.Accounts + counts.Messages + counts.Tasks)
	rep.Set(0)

	m := archive.Manifest{ArchiveID: archive.NewID(), Kind: kind, TaskID: taskID,
		Owner: archive.Owner{ID: user.UserID, Name: user.Name}, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	aw := archive.NewWriter(work)
	sections := []struct {
		name  string
		write func(context.Context, *archive.Writer) (int64, error)
		count *int64
	}{
		{archive.SectionAccounts, a.accounts(owner, rep), &m.Counts.Accounts},
		{archive.SectionMessages, a.messages(owner, rep), &m.Counts.Messages},
		{archive.SectionLabels, a.labels(owner), &m.Counts.Labels},
		{archive.SectionTasks, a.tasks(owner, rep), &m.Counts.Tasks},
	}
	for _, s := range sections {
		rep.Stage("reading", s.name)
		n, err := s.write(ctx, aw)
		if err != nil {
			return store.Export{}, fmt.Errorf("writing %s: %w", s.name, err)
		}
		*s.count = n
	}

	rep.Stage("compressing", "")
	name := archiveName(kind, taskID)
	tmp := filepath.Join(work, name)
	size, sum, err := aw.Pack(tmp, m)
	if err != nil {
		return store.Export{}, err
	}
	if err := a.dir.Place(tmp, name); err != nil {
		return store.Export{}, err
	}
	return store.Export{OwnerID: owner, TaskID: taskID, ArchiveID: m.ArchiveID, Kind: kind, Path: name, Size: size, SHA256: sum,
		Counts: store.ExportCounts(m.Counts)}, nil
}

// section writes R's section with fill and returns how many records it
// holds.
func section[R archive.Record](ctx context.Context, w *archive.Writer, fill func(context.Context, *archive.Section[R]) error) (int64, error) {
	s, err := archive.NewSection[R](w)
	if err != nil {
		return 0, err
	}
	err = fill(ctx, s)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return s.Rows(), err
}

func (a archiver) accounts(owner int64, rep *progress.Reporter) func(context.Context, *archive.Writer) (int64, error) {
	return func(ctx context.Context, w *archive.Writer) (int64, error) {
		return section(ctx, w, func(ctx context.Context, s *archive.Section[archive.Account]) error {
			var after int64
			for {
				page, err := a.store.ExportAccountPage(ctx, owner, after, exportPage)
				if err != nil || len(page) == 0 {
					return err
				}
				for _, ac := range page {
					err := s.Write(archive.Account{ID: ac.ID, Email: ac.Email, Status: ac.Status, Scopes: ac.Scopes, HistoryID: ac.HistoryID,
						MessagesTotal: ac.MessagesTotal, FullSyncedAt: ac.FullSyncedAt, LastSyncedAt: ac.LastSyncedAt, CreatedAt: ac.CreatedAt})
					if err != nil {
						return err
					}
				}
				after = page[len(page)-1].ID
				rep.Add(int64(len(page)))
			}
		})
	}
}

func (a archiver) messages(owner int64, rep *progress.Reporter) func(context.Context, *archive.Writer) (int64, error) {
	return func(ctx context.Context, w *archive.Writer) (int64, error) {
		return section(ctx, w, func(ctx context.Context, s *archive.Section[archive.Message]) error {
			var afterAccount int64
			var afterID string
			for {
				if err := ctx.Err(); err != nil {
					return err
				}
				page, err := a.store.ExportMessagePage(ctx, owner, afterAccount, afterID, exportPage)
				if err != nil || len(page) == 0 {
					return err
				}
				for _, m := range page {
					err := s.Write(archive.Message{AccountID: m.AccountID, ID: m.ID, ThreadID: m.ThreadID, From: m.From, To: m.To, Subject: m.Subject,
						Snippet: m.Snippet, Date: m.Date.UTC(), Labels: m.Labels, Size: m.Size, ListUnsubscribe: m.ListUnsubscribe,
						AuthResults: m.AuthResults, HistoryID: m.HistoryID})
					if err != nil {
						return err
					}
				}
				last := page[len(page)-1]
				afterAccount, afterID = last.AccountID, last.ID
				rep.Add(int64(len(page)))
			}
		})
	}
}

// labels are few (Gmail caps a mailbox's labels), so one grouped query
// reads them all.
func (a archiver) labels(owner int64) func(context.Context, *archive.Writer) (int64, error) {
	return func(ctx context.Context, w *archive.Writer) (int64, error) {
		return section(ctx, w, func(ctx context.Context, s *archive.Section[archive.Label]) error {
			ls, err := a.store.ExportLabelCounts(ctx, owner)
			if err != nil {
				return err
			}
			for _, l := range ls {
				if err := s.Write(archive.Label(l)); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

func (a archiver) tasks(owner int64, rep *progress.Reporter) func(context.Context, *archive.Writer) (int64, error) {
	return func(ctx context.Context, w *archive.Writer) (int64, error) {
		return section(ctx, w, func(ctx context.Context, s *archive.Section[archive.Task]) error {
			var after int64
			for {
				if err := ctx.Err(); err != nil {
					return err
				}
				page, err := a.store.ExportTaskPage(ctx, owner, after, exportPage)
				if err != nil || len(page) == 0 {
					return err
				}
				for _, tk := range page {
					rec := archive.Task{ID: tk.ID, Kind: tk.Kind, Queue: tk.Queue, State: tk.State, Attempt: tk.Attempt, MaxAttempts: tk.MaxAttempts,
						Args: tk.Args, Errors: tk.Errors, Result: tk.Result, CreatedAt: tk.CreatedAt, StartedAt: tk.StartedAt, FinishedAt: tk.FinishedAt}
					if rec.Errors == nil {
						rec.Errors = []inbox.AttemptError{}
					}
					if err := s.Write(rec); err != nil {
						return err
					}
				}
				after = page[len(page)-1].ID
				rep.Add(int64(len(page)))
			}
		})
	}
}
