package jobs

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/store"
)

// RegisterExport adds the export family (an export people download, and
// periodic backups) to reg. Archives are written under dir.
func RegisterExport(reg *Registry, st *store.Store, dir string, logger *slog.Logger) {
	a := archiver{store: st, dir: dir, logger: logger}
	Add(reg, &archiveWorker[ExportUserDataArgs]{archiver: a}, Info{
		Title:       "Export my data",
		Description: "Writes your accounts (never their tokens), message metadata, labels and task history to one .tar.gz of JSON Lines and CSV, downloadable for 7 days.",
		Notify:      true, Result: ExportResult{}, Example: ExportUserDataArgs{},
	})
	Add(reg, &archiveWorker[BackupUserDataArgs]{archiver: a}, Info{
		Title:       "Back up my data",
		Description: "The export's archive, kept as a backup: meant for a schedule; the newest 5 per user are kept. Restore with `inboxq restore`.",
		Result:      ExportResult{}, Example: BackupUserDataArgs{},
	})
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

// keepBackups is how many backups per user are kept.
const keepBackups = 5

// exportPage is how many rows each keyset query reads.
const exportPage = 1000

// partialPrefix names the working directories of archives being written;
// nothing with it is ever served.
const partialPrefix = ".partial-"

// partialMaxAge is how old a working directory must be before PruneExports
// treats it as left behind by a crash.
const partialMaxAge = 24 * time.Hour

// Archive layout, version 1: manifest.json first, then each section as
// JSON Lines and as CSV. accounts.jsonl precedes messages.jsonl, so a
// restore reads the archive in one pass.
const (
	archiveFormat  = "inboxq-export"
	archiveVersion = 1
	manifestName   = "manifest.json"
)

// ExportManifest is manifest.json: what the archive holds.
type ExportManifest struct {
	Format    string             `json:"format"`
	Version   int                `json:"version"`
	ArchiveID string             `json:"archive_id"`
	Kind      string             `json:"kind"`
	TaskID    int64              `json:"task_id"`
	Owner     ExportOwner        `json:"owner"`
	CreatedAt time.Time          `json:"created_at"`
	Counts    store.ExportCounts `json:"counts"`
	Files     []string           `json:"files"`
}

// ExportOwner is the user whose data the archive holds.
type ExportOwner struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// ExportedAccount is one line of accounts.jsonl. There is no token: an
// account restored from an archive needs a new consent.
type ExportedAccount struct {
	ID            int64      `json:"id"`
	Email         string     `json:"email"`
	Status        string     `json:"status"`
	Scopes        []string   `json:"scopes"`
	HistoryID     *int64     `json:"history_id"`
	MessagesTotal *int64     `json:"messages_total"`
	FullSyncedAt  *time.Time `json:"full_synced_at"`
	LastSyncedAt  *time.Time `json:"last_synced_at"`
	CreatedAt     time.Time  `json:"created_at"`
}

// ExportedMessage is one line of messages.jsonl.
type ExportedMessage struct {
	AccountID       int64     `json:"account_id"`
	ID              string    `json:"id"`
	ThreadID        string    `json:"thread_id"`
	From            string    `json:"from"`
	To              string    `json:"to"`
	Subject         string    `json:"subject"`
	Snippet         string    `json:"snippet"`
	Date            time.Time `json:"date"`
	Labels          []string  `json:"labels"`
	Size            int64     `json:"size"`
	ListUnsubscribe string    `json:"list_unsubscribe"`
	AuthResults     string    `json:"auth_results"`
	HistoryID       uint64    `json:"history_id"`
}

// ExportedLabel is one line of labels.jsonl.
type ExportedLabel struct {
	AccountID int64  `json:"account_id"`
	Label     string `json:"label"`
	Messages  int64  `json:"messages"`
}

// ExportedTask is one line of tasks.jsonl.
type ExportedTask struct {
	ID          int64                `json:"id"`
	Kind        string               `json:"kind"`
	Queue       string               `json:"queue"`
	State       inbox.TaskState      `json:"state"`
	Attempt     int                  `json:"attempt"`
	MaxAttempts int                  `json:"max_attempts"`
	Args        json.RawMessage      `json:"args"`
	Errors      []inbox.AttemptError `json:"errors"`
	Result      json.RawMessage      `json:"result,omitempty"`
	CreatedAt   time.Time            `json:"created_at"`
	StartedAt   *time.Time           `json:"started_at"`
	FinishedAt  *time.Time           `json:"finished_at"`
}

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
	dir    string
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
	river.ResumableStep(ctx, "archive", nil, func(ctx context.Context) error {
		if _, err := pruneExports(ctx, w.store, w.dir, &owner); err != nil {
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
			_ = os.Remove(filepath.Join(w.dir, e.Path))
			return err
		}
		w.logger.InfoContext(ctx, "export_written", slog.Int64("task_id", job.ID), slog.Int64("owner_id", owner),
			slog.String("kind", kind), slog.Int64("size", e.Size), slog.Int64("messages", e.Counts.Messages))
		return nil
	})
	river.ResumableStep(ctx, "finish", nil, func(ctx context.Context) error {
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
			if res.PrunedBackups, err = removeExports(ctx, w.store, w.dir, old); err != nil {
				return err
			}
		}
		rep.Stage("done", fmt.Sprintf("%d messages, %d bytes", e.Counts.Messages, e.Size))
		return river.RecordOutput(ctx, res)
	})
	return nil
}

// write builds the owner's archive in a working directory and renames it
// into place; it returns the export row to record.
func (a archiver) write(ctx context.Context, rep *progress.Reporter, taskID, owner int64, kind string) (store.Export, error) {
	if err := os.MkdirAll(a.dir, 0o700); err != nil {
		return store.Export{}, fmt.Errorf("creating export directory: %w", err)
	}
	work := filepath.Join(a.dir, partialPrefix+strconv.FormatInt(taskID, 10))
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

	// Each section is spooled to its own files first: a tar header needs the
	// member's size, which is only known once the member is written.
	m := ExportManifest{Format: archiveFormat, Version: archiveVersion, ArchiveID: newArchiveID(), Kind: kind, TaskID: taskID,
		Owner: ExportOwner{ID: user.UserID, Name: user.Name}, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	sections := []struct {
		name  string
		write func(context.Context, *table) error
		count *int64
	}{
		{"accounts", a.accounts(owner, rep), &m.Counts.Accounts},
		{"messages", a.messages(owner, rep), &m.Counts.Messages},
		{"labels", a.labels(owner), &m.Counts.Labels},
		{"tasks", a.tasks(owner, rep), &m.Counts.Tasks},
	}
	for _, s := range sections {
		rep.Stage("reading", s.name)
		t, err := newTable(work, s.name)
		if err != nil {
			return store.Export{}, err
		}
		err = s.write(ctx, t)
		if cerr := t.close(); err == nil {
			err = cerr
		}
		if err != nil {
			return store.Export{}, fmt.Errorf("writing %s: %w", s.name, err)
		}
		*s.count = t.rows
		m.Files = append(m.Files, t.files()...)
	}

	rep.Stage("compressing", "")
	name := fmt.Sprintf("%s-%d.tar.gz", kind, taskID)
	tmp := filepath.Join(work, name)
	size, sum, err := pack(tmp, work, m)
	if err != nil {
		return store.Export{}, err
	}
	// The rename is the commit point: the archive appears whole or not at all.
	if err := os.Rename(tmp, filepath.Join(a.dir, name)); err != nil {
		return store.Export{}, fmt.Errorf("moving archive into place: %w", err)
	}
	return store.Export{OwnerID: owner, TaskID: taskID, ArchiveID: m.ArchiveID, Kind: kind, Path: name, Size: size, SHA256: sum, Counts: m.Counts}, nil
}

func newArchiveID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (a archiver) accounts(owner int64, rep *progress.Reporter) func(context.Context, *table) error {
	return func(ctx context.Context, t *table) error {
		if err := t.header("id", "email", "status", "scopes", "history_id", "messages_total", "full_synced_at", "last_synced_at", "created_at"); err != nil {
			return err
		}
		var after int64
		for {
			page, err := a.store.ExportAccountPage(ctx, owner, after, exportPage)
			if err != nil || len(page) == 0 {
				return err
			}
			for _, ac := range page {
				rec := ExportedAccount{ID: ac.ID, Email: ac.Email, Status: ac.Status, Scopes: ac.Scopes, HistoryID: ac.HistoryID,
					MessagesTotal: ac.MessagesTotal, FullSyncedAt: ac.FullSyncedAt, LastSyncedAt: ac.LastSyncedAt, CreatedAt: ac.CreatedAt}
				err := t.write(rec, num(ac.ID), ac.Email, ac.Status, strings.Join(ac.Scopes, " "), optInt(ac.HistoryID),
					optInt(ac.MessagesTotal), optTime(ac.FullSyncedAt), optTime(ac.LastSyncedAt), stamp(ac.CreatedAt))
				if err != nil {
					return err
				}
			}
			after = page[len(page)-1].ID
			rep.Add(int64(len(page)))
		}
	}
}

func (a archiver) messages(owner int64, rep *progress.Reporter) func(context.Context, *table) error {
	return func(ctx context.Context, t *table) error {
		if err := t.header("account_id", "id", "thread_id", "from", "to", "subject", "snippet", "date", "labels", "size", "list_unsubscribe"); err != nil {
			return err
		}
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
				rec := ExportedMessage{AccountID: m.AccountID, ID: m.ID, ThreadID: m.ThreadID, From: m.From, To: m.To, Subject: m.Subject,
					Snippet: m.Snippet, Date: m.Date.UTC(), Labels: m.Labels, Size: m.Size, ListUnsubscribe: m.ListUnsubscribe,
					AuthResults: m.AuthResults, HistoryID: m.HistoryID}
				err := t.write(rec, num(m.AccountID), m.ID, m.ThreadID, m.From, m.To, m.Subject, m.Snippet, stamp(m.Date),
					strings.Join(m.Labels, " "), num(m.Size), m.ListUnsubscribe)
				if err != nil {
					return err
				}
			}
			last := page[len(page)-1]
			afterAccount, afterID = last.AccountID, last.ID
			rep.Add(int64(len(page)))
		}
	}
}

// labels are few (Gmail caps a mailbox's labels), so one grouped query
// reads them all.
func (a archiver) labels(owner int64) func(context.Context, *table) error {
	return func(ctx context.Context, t *table) error {
		if err := t.header("account_id", "label", "messages"); err != nil {
			return err
		}
		ls, err := a.store.ExportLabelCounts(ctx, owner)
		if err != nil {
			return err
		}
		for _, l := range ls {
			if err := t.write(ExportedLabel(l), num(l.AccountID), l.Label, num(l.Messages)); err != nil {
				return err
			}
		}
		return nil
	}
}

func (a archiver) tasks(owner int64, rep *progress.Reporter) func(context.Context, *table) error {
	return func(ctx context.Context, t *table) error {
		if err := t.header("id", "kind", "queue", "state", "attempt", "max_attempts", "created_at", "started_at", "finished_at", "last_error"); err != nil {
			return err
		}
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
				rec := ExportedTask{ID: tk.ID, Kind: tk.Kind, Queue: tk.Queue, State: tk.State, Attempt: tk.Attempt, MaxAttempts: tk.MaxAttempts,
					Args: tk.Args, Errors: tk.Errors, Result: tk.Result, CreatedAt: tk.CreatedAt, StartedAt: tk.StartedAt, FinishedAt: tk.FinishedAt}
				if rec.Errors == nil {
					rec.Errors = []inbox.AttemptError{}
				}
				lastErr := ""
				if len(tk.Errors) > 0 {
					lastErr = tk.Errors[len(tk.Errors)-1].Error
				}
				err := t.write(rec, num(tk.ID), tk.Kind, tk.Queue, string(tk.State), strconv.Itoa(tk.Attempt), strconv.Itoa(tk.MaxAttempts),
					stamp(tk.CreatedAt), optTime(tk.StartedAt), optTime(tk.FinishedAt), lastErr)
				if err != nil {
					return err
				}
			}
			after = page[len(page)-1].ID
			rep.Add(int64(len(page)))
		}
	}
}

func num(n int64) string { return strconv.FormatInt(n, 10) }

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func optTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return stamp(*t)
}

func optInt(n *int64) string {
	if n == nil {
		return ""
	}
	return num(*n)
}

// table spools one section as JSON Lines and as CSV.
type table struct {
	name        string
	jf, cf      *os.File
	jw, cw      *bufio.Writer
	enc         *json.Encoder
	csv         *csv.Writer
	rows        int64
	jsonl, csvn string
}

func newTable(dir, name string) (*table, error) {
	t := &table{name: name, jsonl: filepath.Join(dir, name+".jsonl"), csvn: filepath.Join(dir, name+".csv")}
	var err error
	if t.jf, err = os.OpenFile(t.jsonl, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err != nil {
		return nil, fmt.Errorf("spooling %s: %w", name, err)
	}
	if t.cf, err = os.OpenFile(t.csvn, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err != nil {
		t.jf.Close()
		return nil, fmt.Errorf("spooling %s: %w", name, err)
	}
	t.jw, t.cw = bufio.NewWriterSize(t.jf, 64<<10), bufio.NewWriterSize(t.cf, 64<<10)
	t.enc, t.csv = json.NewEncoder(t.jw), csv.NewWriter(t.cw)
	t.enc.SetEscapeHTML(false)
	return t, nil
}

func (t *table) header(cols ...string) error { return t.csv.Write(cols) }

// write adds one record: rec as a JSON line, cells as a CSV row.
func (t *table) write(rec any, cells ...string) error {
	if err := t.enc.Encode(rec); err != nil {
		return err
	}
	for i, c := range cells {
		cells[i] = cell(c)
	}
	if err := t.csv.Write(cells); err != nil {
		return err
	}
	t.rows++
	return nil
}

// cell defuses text that a spreadsheet would run as a formula (a subject
// such as "=HYPERLINK(…)" comes from whoever sent the mail): a leading
// apostrophe makes it text. The JSON Lines keep the value as it is.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func (t *table) close() error {
	t.csv.Flush()
	errs := []error{t.csv.Error(), t.jw.Flush(), t.cw.Flush(), t.jf.Close(), t.cf.Close()}
	return errors.Join(errs...)
}

// files are the spooled file names, in archive order.
func (t *table) files() []string { return []string{filepath.Base(t.jsonl), filepath.Base(t.csvn)} }

// pack writes the manifest and the spooled files in dir to a .tar.gz at
// path, synced to disk, and returns its size and SHA-256.
func pack(path, dir string, m ExportManifest) (int64, string, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, "", fmt.Errorf("creating archive: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	gz := gzip.NewWriter(io.MultiWriter(f, h))
	tw := tar.NewWriter(gz)

	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return 0, "", fmt.Errorf("encoding manifest: %w", err)
	}
	hdr := func(name string, size int64) *tar.Header {
		return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o600, ModTime: m.CreatedAt, Format: tar.FormatPAX}
	}
	if err := tw.WriteHeader(hdr(manifestName, int64(len(manifest)))); err != nil {
		return 0, "", fmt.Errorf("writing archive: %w", err)
	}
	if _, err := tw.Write(manifest); err != nil {
		return 0, "", fmt.Errorf("writing archive: %w", err)
	}
	for _, name := range m.Files {
		if err := packFile(tw, filepath.Join(dir, name), hdr); err != nil {
			return 0, "", fmt.Errorf("writing archive: %w", err)
		}
	}
	if err := errors.Join(tw.Close(), gz.Close()); err != nil {
		return 0, "", fmt.Errorf("writing archive: %w", err)
	}
	if err := f.Sync(); err != nil {
		return 0, "", fmt.Errorf("syncing archive: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		return 0, "", fmt.Errorf("writing archive: %w", err)
	}
	return info.Size(), hex.EncodeToString(h.Sum(nil)), nil
}

func packFile(tw *tar.Writer, path string, hdr func(string, int64) *tar.Header) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(hdr(filepath.Base(path), info.Size())); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// PruneExports deletes every expired archive (file, then row) and the
// working directories that crashed writers left behind; the hourly
// maintenance calls it. It returns how many archives it deleted.
func PruneExports(ctx context.Context, st *store.Store, dir string) (int64, error) {
	n, err := pruneExports(ctx, st, dir, nil)
	if err != nil {
		return n, err
	}
	entries, err := os.ReadDir(dir)
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
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return n, fmt.Errorf("removing abandoned export: %w", err)
			}
		}
	}
	return n, nil
}

// pruneExports deletes the expired archives of one owner (nil: everyone's).
func pruneExports(ctx context.Context, st *store.Store, dir string, owner *int64) (int64, error) {
	var n int64
	for {
		expired, err := st.ExportListExpired(ctx, owner, exportPage)
		if err != nil || len(expired) == 0 {
			return n, err
		}
		deleted, err := removeExports(ctx, st, dir, expired)
		n += deleted
		if err != nil {
			return n, err
		}
	}
}

// removeExports deletes archives: each file first, then the rows, so a
// failure part way leaves rows whose files may be gone (refused as
// expired, and retried), never files nobody can find.
func removeExports(ctx context.Context, st *store.Store, dir string, es []store.Export) (int64, error) {
	if len(es) == 0 {
		return 0, nil
	}
	ids := make([]int64, len(es))
	for i, e := range es {
		path, err := exportPath(dir, e)
		if err != nil {
			return 0, err
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("removing export %d: %w", e.ID, err)
		}
		ids[i] = e.ID
	}
	return st.ExportDelete(ctx, ids)
}

// exportPath is where an archive's file is; a path that would leave dir is
// refused (rows are ours, but a file name is never trusted blindly).
func exportPath(dir string, e store.Export) (string, error) {
	if !filepath.IsLocal(e.Path) || filepath.Base(e.Path) != e.Path {
		return "", fmt.Errorf("export %d has an unsafe path %q", e.ID, e.Path)
	}
	return filepath.Join(dir, e.Path), nil
}

// exportListLimit caps the list of a user's archives: exports live a week
// and backups are capped, so this is never reached in normal use.
const exportListLimit = 200

// ExportFiles gives the API a user's archives and their files.
type ExportFiles struct {
	Store *store.Store
	Dir   string
}

// List returns the owner's archives that have not expired, newest first.
func (f ExportFiles) List(ctx context.Context, owner int64) ([]store.Export, error) {
	es, err := f.Store.ExportList(ctx, owner, exportListLimit)
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
func (f ExportFiles) Get(ctx context.Context, owner, id int64) (store.Export, error) {
	e, err := f.Store.ExportGet(ctx, id, owner)
	if err != nil {
		return e, fmt.Errorf("export %d: %w", id, err)
	}
	return e, nil
}

// Open opens an archive's file. A recorded archive whose file is missing
// (a worker on another machine wrote it to its own disk) is an internal
// error: the export directory must be shared by every process.
func (f ExportFiles) Open(e store.Export) (io.ReadSeekCloser, error) {
	path, err := exportPath(f.Dir, e)
	if err != nil {
		return nil, err
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening export %d: %w", e.ID, err)
	}
	return file, nil
}

// Restore errors.
var (
	// ErrCorruptArchive: the file is not an inboxq archive, or is damaged.
	ErrCorruptArchive = errors.New("not a readable inboxq archive (corrupt, truncated or another kind of file)")
	// ErrChecksumMismatch: the file differs from the archive inboxq recorded.
	ErrChecksumMismatch = errors.New("checksum mismatch")
)

// RestoreResult counts what a restore brought back.
type RestoreResult struct {
	Manifest        ExportManifest
	AccountsCreated int64
	AccountsKept    int64 // already there (same address): left as they were
	Messages        int64
	// Verified is set when the archive matched the checksum inboxq recorded
	// when it wrote it; archives from another database cannot be checked.
	Verified bool
}

// restoreBatch is how many messages one upsert saves.
const restoreBatch = 1000

// Restore reads an archive in one pass and brings back the owner's
// accounts, as disconnected (archives hold no tokens: each needs a new
// consent; an account with the same address is kept as it is), and their
// messages' metadata (upserted), in one transaction. Labels and tasks are
// not restored: labels come from the messages, and tasks are history. When
// this database recorded the archive, a file whose SHA-256 differs is
// refused and nothing is written.
func Restore(ctx context.Context, st *store.Store, owner int64, r io.Reader) (RestoreResult, error) {
	var res RestoreResult
	h := sha256.New()
	raw := io.TeeReader(r, h)
	gz, err := gzip.NewReader(raw)
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrCorruptArchive, err)
	}
	tr := tar.NewReader(gz)
	hdr, err := tr.Next()
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrCorruptArchive, err)
	}
	if hdr.Name != manifestName {
		return res, fmt.Errorf("%w: it starts with %q, not %s", ErrCorruptArchive, hdr.Name, manifestName)
	}
	if err := json.NewDecoder(tr).Decode(&res.Manifest); err != nil {
		return res, fmt.Errorf("%w: reading manifest: %w", ErrCorruptArchive, err)
	}
	if m := res.Manifest; m.Format != archiveFormat || m.Version != archiveVersion {
		return res, fmt.Errorf("%w: format %q version %d (this inboxq reads %s version %d)", ErrCorruptArchive, m.Format, m.Version, archiveFormat, archiveVersion)
	}
	err = st.InTx(ctx, func(_ pgx.Tx, st *store.Store) error {
		accounts := map[int64]int64{} // archive id → this database's id
		for {
			hdr, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("%w: %w", ErrCorruptArchive, err)
			}
			switch hdr.Name {
			case "accounts.jsonl":
				err = restoreAccounts(ctx, st, owner, tr, accounts, &res)
			case "messages.jsonl":
				err = restoreMessages(ctx, st, tr, accounts, &res)
			}
			if err != nil {
				return err
			}
		}
		// Read to the end: the gzip trailer's CRC checks the whole archive,
		// and the checksum covers every byte.
		if _, err := io.Copy(io.Discard, gz); err != nil {
			return fmt.Errorf("%w: %w", ErrCorruptArchive, err)
		}
		if _, err := io.Copy(io.Discard, raw); err != nil {
			return fmt.Errorf("reading archive: %w", err)
		}
		rec, err := st.ExportGetByArchive(ctx, res.Manifest.ArchiveID)
		if errors.Is(err, inbox.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if sum := hex.EncodeToString(h.Sum(nil)); sum != rec.SHA256 {
			return fmt.Errorf("%w: inboxq recorded this archive (%s %d) with SHA-256 %s, but the file's is %s: it was changed or damaged",
				ErrChecksumMismatch, rec.Kind, rec.ID, rec.SHA256, sum)
		}
		res.Verified = true
		return nil
	})
	return res, err
}

func restoreAccounts(ctx context.Context, st *store.Store, owner int64, r io.Reader, ids map[int64]int64, res *RestoreResult) error {
	dec := json.NewDecoder(r)
	for {
		var a ExportedAccount
		if err := dec.Decode(&a); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%w: accounts.jsonl: %w", ErrCorruptArchive, err)
		}
		if a.Email == "" {
			return fmt.Errorf("%w: accounts.jsonl: account %d has no address", ErrCorruptArchive, a.ID)
		}
		id, created, err := st.AccountRestore(ctx, owner, inbox.Account{Email: a.Email, Scopes: a.Scopes, HistoryID: a.HistoryID,
			MessagesTotal: a.MessagesTotal, FullSyncedAt: a.FullSyncedAt, LastSyncedAt: a.LastSyncedAt})
		if err != nil {
			return err
		}
		ids[a.ID] = id
		if created {
			res.AccountsCreated++
		} else {
			res.AccountsKept++
		}
	}
}

func restoreMessages(ctx context.Context, st *store.Store, r io.Reader, ids map[int64]int64, res *RestoreResult) error {
	dec := json.NewDecoder(r)
	var batch []inbox.Message
	account := int64(0)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := st.MessageUpsert(ctx, account, batch); err != nil {
			return err
		}
		res.Messages += int64(len(batch))
		batch = batch[:0]
		return nil
	}
	for {
		var m ExportedMessage
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return flush()
		} else if err != nil {
			return fmt.Errorf("%w: messages.jsonl: %w", ErrCorruptArchive, err)
		}
		to, ok := ids[m.AccountID]
		if !ok || m.ID == "" {
			return fmt.Errorf("%w: messages.jsonl: message %q of unknown account %d", ErrCorruptArchive, m.ID, m.AccountID)
		}
		if to != account || len(batch) == restoreBatch {
			if err := flush(); err != nil {
				return err
			}
			account = to
		}
		batch = append(batch, inbox.Message{ID: m.ID, ThreadID: m.ThreadID, From: m.From, To: m.To, Subject: m.Subject, Snippet: m.Snippet,
			Date: m.Date, Labels: m.Labels, Size: m.Size, ListUnsubscribe: m.ListUnsubscribe, AuthResults: m.AuthResults, HistoryID: m.HistoryID})
	}
}
