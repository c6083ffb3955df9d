package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// Export kinds.
const (
	ExportKindExport = "export" // asked for by its owner; expires after 7 days
	ExportKindBackup = "backup" // taken on a schedule; the newest few are kept
)

// Export is a written archive of one user's data.
type Export struct {
	ID      int64
	OwnerID int64
	TaskID  int64
	// ArchiveID is random, and also in the archive's manifest.
	ArchiveID string
	Kind      string
	// Path is the archive's file name under the export directory.
	Path      string
	Size      int64
	SHA256    string // hex
	Counts    ExportCounts
	CreatedAt time.Time
	ExpiresAt *time.Time // nil: kept until retention removes it
}

// Expired reports whether the archive is past its expiry at now.
func (e Export) Expired(now time.Time) bool {
	return e.ExpiresAt != nil && !now.Before(*e.ExpiresAt)
}

// ExportCounts is what an archive holds.
type ExportCounts struct {
	Accounts int64 `json:"accounts" doc:"Gmail accounts (never their tokens)"`
	Messages int64 `json:"messages" doc:"Stored message metadata records"`
	Labels   int64 `json:"labels" doc:"Distinct labels per account"`
	Tasks    int64 `json:"tasks" doc:"Tasks in the task history"`
}

func exportFrom(e dbsqlc.Export) Export {
	out := Export{ID: e.ID, OwnerID: e.OwnerID, TaskID: e.TaskID, ArchiveID: e.ArchiveID, Kind: e.Kind, Path: e.Path, Size: e.Size,
		SHA256: e.Sha256, CreatedAt: e.CreatedAt, ExpiresAt: e.ExpiresAt}
	// Counts are our own JSON; a row written by hand without them shows zeros.
	_ = json.Unmarshal(e.Counts, &out.Counts)
	return out
}

func exportsFrom(rows []dbsqlc.Export) []Export {
	out := make([]Export, len(rows))
	for i, r := range rows {
		out[i] = exportFrom(r)
	}
	return out
}

// ExportCount counts what an archive of the owner's data will hold (labels
// are not counted: they come from one grouped query).
func (s *Store) ExportCount(ctx context.Context, owner int64) (ExportCounts, error) {
	r, err := s.planned.ExportCounts(ctx, owner)
	if err != nil {
		return ExportCounts{}, translate(err, "counting exported data")
	}
	return ExportCounts{Accounts: r.Accounts, Messages: r.Messages, Tasks: r.Tasks}, nil
}

// ExportAccountPage returns up to limit of the owner's accounts after
// afterID, in id order, without their tokens.
func (s *Store) ExportAccountPage(ctx context.Context, owner, afterID int64, limit int) ([]inbox.Account, error) {
	rows, err := s.q.ExportAccountPage(ctx, dbsqlc.ExportAccountPageParams{OwnerID: owner, AfterID: afterID, MaxRows: int32(limit)})
	if err != nil {
		return nil, translate(err, "reading accounts to export")
	}
	out := make([]inbox.Account, len(rows))
	for i, a := range rows {
		out[i] = inbox.Account{ID: a.ID, OwnerID: owner, Email: a.Email, Status: a.Status, Scopes: a.Scopes, HistoryID: a.HistoryID,
			MessagesTotal: a.MessagesTotal, FullSyncedAt: a.FullSyncedAt, LastSyncedAt: a.LastSyncedAt, CreatedAt: a.CreatedAt}
	}
	return out, nil
}

// AccountMessage is a message with the account it belongs to.
type AccountMessage struct {
	AccountID int64
	inbox.Message
}

// ExportMessagePage returns up to limit of the owner's messages after the
// keyset (afterAccount, afterID), in that order.
func (s *Store) ExportMessagePage(ctx context.Context, owner, afterAccount int64, afterID string, limit int) ([]AccountMessage, error) {
	rows, err := s.q.ExportMessagePage(ctx, dbsqlc.ExportMessagePageParams{OwnerID: owner, AfterAccount: afterAccount, AfterID: afterID, MaxRows: int32(limit)})
	if err != nil {
		return nil, translate(err, "reading messages to export")
	}
	out := make([]AccountMessage, len(rows))
	for i, m := range rows {
		out[i] = AccountMessage{AccountID: m.AccountID, Message: inbox.Message{ID: m.ID, ThreadID: m.ThreadID, From: m.FromAddr, To: m.ToAddr,
			Subject: m.Subject, Snippet: m.Snippet, Date: m.InternalDate, Labels: m.LabelIds, Size: m.SizeEstimate,
			ListUnsubscribe: m.ListUnsubscribe, AuthResults: m.AuthResults, HistoryID: uint64(m.HistoryID)}}
	}
	return out, nil
}

// LabelCount is how many of an account's messages carry a label.
type LabelCount struct {
	AccountID int64
	Label     string
	Messages  int64
}

// ExportLabelCounts counts the labels seen on the owner's messages, per
// account, in (account, label) order.
func (s *Store) ExportLabelCounts(ctx context.Context, owner int64) ([]LabelCount, error) {
	rows, err := s.q.ExportLabelCounts(ctx, owner)
	if err != nil {
		return nil, translate(err, "counting labels to export")
	}
	out := make([]LabelCount, len(rows))
	for i, r := range rows {
		out[i] = LabelCount(r)
	}
	return out, nil
}

// ExportTaskPage returns up to limit of the owner's tasks after afterID,
// oldest first.
func (s *Store) ExportTaskPage(ctx context.Context, owner, afterID int64, limit int) ([]inbox.Task, error) {
	rows, err := s.planned.ExportTaskPage(ctx, dbsqlc.ExportTaskPageParams{Owner: strconv.FormatInt(owner, 10), AfterID: afterID, MaxRows: int32(limit)})
	if err != nil {
		return nil, translate(err, "reading tasks to export")
	}
	out := make([]inbox.Task, len(rows))
	for i, r := range rows {
		t := inbox.Task{ID: r.ID, Kind: r.Kind, Queue: r.Queue, OwnerID: &owner, State: inbox.TaskState(r.TaskState),
			Attempt: int(r.Attempt), MaxAttempts: int(r.MaxAttempts), Args: r.Args, CreatedAt: r.CreatedAt,
			StartedAt: r.AttemptedAt, FinishedAt: r.FinalizedAt}
		if len(r.Output) > 0 && string(r.Output) != "null" {
			t.Result = r.Output
		}
		for _, raw := range r.Errors {
			var e attemptError
			if json.Unmarshal(raw, &e) == nil {
				t.Errors = append(t.Errors, inbox.AttemptError{Attempt: e.Attempt, At: e.At, Error: e.Error})
			}
		}
		out[i] = t
	}
	return out, nil
}

// ExportRecord records a finished archive; recording the same task's
// archive again updates its row (one row per task).
func (s *Store) ExportRecord(ctx context.Context, e Export) (Export, error) {
	counts, err := json.Marshal(e.Counts)
	if err != nil {
		return Export{}, fmt.Errorf("encoding export counts: %w", err)
	}
	row, err := s.q.ExportRecord(ctx, dbsqlc.ExportRecordParams{OwnerID: e.OwnerID, TaskID: e.TaskID, ArchiveID: e.ArchiveID, Kind: e.Kind, Path: e.Path,
		Size: e.Size, Sha256: e.SHA256, Counts: counts})
	if err != nil {
		return Export{}, translate(err, "recording export")
	}
	return exportFrom(row), nil
}

// ExportList lists the owner's archives, newest first.
func (s *Store) ExportList(ctx context.Context, owner int64, limit int) ([]Export, error) {
	rows, err := s.q.ExportList(ctx, dbsqlc.ExportListParams{OwnerID: owner, MaxRows: int32(limit)})
	if err != nil {
		return nil, translate(err, "listing exports")
	}
	return exportsFrom(rows), nil
}

// ExportGet returns one of the owner's archives.
func (s *Store) ExportGet(ctx context.Context, id, owner int64) (Export, error) {
	row, err := s.q.ExportGet(ctx, dbsqlc.ExportGetParams{ID: id, OwnerID: owner})
	if err != nil {
		return Export{}, translate(err, "getting export")
	}
	return exportFrom(row), nil
}

// ExportGetByTask returns the archive a task wrote, whoever owns it.
func (s *Store) ExportGetByTask(ctx context.Context, task int64) (Export, error) {
	row, err := s.q.ExportGetByTask(ctx, task)
	if err != nil {
		return Export{}, translate(err, "getting export")
	}
	return exportFrom(row), nil
}

// ExportGetByArchive returns the export row of an archive id.
func (s *Store) ExportGetByArchive(ctx context.Context, archiveID string) (Export, error) {
	row, err := s.q.ExportGetByArchive(ctx, archiveID)
	if err != nil {
		return Export{}, translate(err, "getting export")
	}
	return exportFrom(row), nil
}

// ExportListExpired lists up to limit archives past their expiry, of one
// owner or (nil) everyone's.
func (s *Store) ExportListExpired(ctx context.Context, owner *int64, limit int) ([]Export, error) {
	rows, err := s.q.ExportListExpired(ctx, dbsqlc.ExportListExpiredParams{OwnerID: owner, MaxRows: int32(limit)})
	if err != nil {
		return nil, translate(err, "listing expired exports")
	}
	return exportsFrom(rows), nil
}

// ExportBackupsBeyond lists the owner's backups older than the newest keep.
func (s *Store) ExportBackupsBeyond(ctx context.Context, owner int64, keep int) ([]Export, error) {
	rows, err := s.q.ExportListBackupsBeyond(ctx, dbsqlc.ExportListBackupsBeyondParams{OwnerID: owner, Keep: int32(keep)})
	if err != nil {
		return nil, translate(err, "listing old backups")
	}
	return exportsFrom(rows), nil
}

// ExportDelete deletes archive rows (their files are the caller's).
func (s *Store) ExportDelete(ctx context.Context, ids []int64) (int64, error) {
	n, err := s.q.ExportDelete(ctx, ids)
	return n, translate(err, "deleting exports")
}

// AccountRestore brings back an exported account for its owner as
// disconnected (archives hold no tokens, so it needs a new consent). An
// account with the same address is kept as it is; created says which.
func (s *Store) AccountRestore(ctx context.Context, owner int64, a inbox.Account) (id int64, created bool, err error) {
	r, err := s.q.AccountRestore(ctx, dbsqlc.AccountRestoreParams{OwnerID: owner, Email: a.Email, Scopes: nonNil(a.Scopes),
		HistoryID: a.HistoryID, MessagesTotal: a.MessagesTotal, FullSyncedAt: a.FullSyncedAt, LastSyncedAt: a.LastSyncedAt})
	if err != nil {
		return 0, false, translate(err, "restoring account "+a.Email)
	}
	return r.ID, r.Created, nil
}
