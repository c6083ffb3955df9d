package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// analyticsLateCommit is how far before its watermark a rollup recounts
// finished jobs: River stamps finalized_at when a job finishes and commits
// it a moment later, so a job may appear with a finish just before the
// watermark. Its day is recounted whole by the next run that has news.
const analyticsLateCommit = 5 * time.Minute

// systemWatermark is the watermark row of the system rollups (no user has
// id 0).
const systemWatermark = 0

// AnalyticsUserRollup is what one user rollup wrote.
type AnalyticsUserRollup struct {
	// Days is how many (account, day) pairs had changed and were recounted.
	Days int64 `json:"days" doc:"Account days whose messages changed and were recounted"`
	// MailRows is the mail rollup rows written (changed, added or removed).
	MailRows int64 `json:"mail_rows" doc:"Daily mail rows written: changed, added or removed (0 when nothing changed)"`
	// SenderRows is the top-sender rows written.
	SenderRows int64 `json:"sender_rows" doc:"Top-sender rows written"`
	// BulkRows is the bulk-removal rows written.
	BulkRows int64 `json:"bulk_rows" doc:"Daily bulk-action rows written"`
}

// AnalyticsUpdateUser rolls up a user's changed days, top senders and bulk
// tasks finished since their watermark, in one transaction: the changed
// days it consumes are the ones it rewrites. Nothing new: nothing written.
func (s *Store) AnalyticsUpdateUser(ctx context.Context, userID int64, bulkKinds []string) (AnalyticsUserRollup, error) {
	var out AnalyticsUserRollup
	err := s.InTx(ctx, func(_ pgx.Tx, st *Store) error {
		dirty, err := st.q.AnalyticsDirtyTake(ctx, userID)
		if err != nil {
			return translate(err, "taking changed days")
		}
		out.Days = int64(len(dirty))
		if len(dirty) > 0 {
			p := dbsqlc.AnalyticsMailDayRewriteParams{AccountIds: make([]int64, len(dirty)), Days: make([]pgtype.Date, len(dirty))}
			for i, d := range dirty {
				p.AccountIds[i], p.Days[i] = d.AccountID, d.Day
			}
			if out.MailRows, err = st.q.AnalyticsMailDayRewrite(ctx, p); err != nil {
				return translate(err, "rewriting mail days")
			}
			if out.SenderRows, err = st.q.AnalyticsSenderRewrite(ctx, userID); err != nil {
				return translate(err, "rewriting top senders")
			}
		}
		through, err := st.watermark(ctx, userID)
		if err != nil {
			return err
		}
		newest, err := st.q.AnalyticsBulkFinishedSince(ctx, dbsqlc.AnalyticsBulkFinishedSinceParams{Since: through, Kinds: bulkKinds, UserID: userID})
		if err != nil {
			return translate(err, "finding finished bulk tasks")
		}
		if newest.After(through) {
			if out.BulkRows, err = st.q.AnalyticsBulkDayRewrite(ctx, dbsqlc.AnalyticsBulkDayRewriteParams{
				UserID: userID, Since: through.Add(-analyticsLateCommit), Kinds: bulkKinds,
			}); err != nil {
				return translate(err, "rewriting bulk days")
			}
			if err := st.q.AnalyticsWatermarkSet(ctx, dbsqlc.AnalyticsWatermarkSetParams{UserID: userID, JobsThrough: newest}); err != nil {
				return translate(err, "advancing the watermark")
			}
		}
		return nil
	})
	return out, err
}

// AnalyticsSystemRollup is what one system rollup wrote.
type AnalyticsSystemRollup struct {
	// TaskRows is the task rollup rows written.
	TaskRows int64 `json:"task_rows" doc:"Rows of tasks per kind and day written (0 when no task finished since the last run)"`
	// PrunedDirty is the changed days of deleted accounts dropped.
	PrunedDirty int64 `json:"pruned_dirty" doc:"Changed-day marks of deleted accounts dropped"`
}

// AnalyticsUpdateSystem recounts the days of tasks finished since the
// system watermark, in one transaction.
func (s *Store) AnalyticsUpdateSystem(ctx context.Context) (AnalyticsSystemRollup, error) {
	var out AnalyticsSystemRollup
	err := s.InTx(ctx, func(_ pgx.Tx, st *Store) error {
		var err error
		if out.PrunedDirty, err = st.q.AnalyticsDirtyPrune(ctx); err != nil {
			return translate(err, "pruning changed days")
		}
		through, err := st.watermark(ctx, systemWatermark)
		if err != nil {
			return err
		}
		newest, err := st.q.AnalyticsFinishedSince(ctx, through)
		if err != nil {
			return translate(err, "finding finished tasks")
		}
		if !newest.After(through) {
			return nil
		}
		if out.TaskRows, err = st.q.AnalyticsTaskDayRewrite(ctx, through.Add(-analyticsLateCommit)); err != nil {
			return translate(err, "rewriting task days")
		}
		return translate(st.q.AnalyticsWatermarkSet(ctx, dbsqlc.AnalyticsWatermarkSetParams{UserID: systemWatermark, JobsThrough: newest}), "advancing the watermark")
	})
	return out, err
}

// watermark is where a rollup of finished jobs stopped; the zero time
// before its first run.
func (s *Store) watermark(ctx context.Context, userID int64) (time.Time, error) {
	w, err := s.q.AnalyticsWatermarkGet(ctx, userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Unix(0, 0).UTC(), nil
	}
	if err != nil {
		return time.Time{}, translate(err, "reading the watermark")
	}
	return w.JobsThrough, nil
}

// AnalyticsUsers lists the users who have at least one account.
func (s *Store) AnalyticsUsers(ctx context.Context) ([]int64, error) {
	ids, err := s.q.AnalyticsUsersWithAccounts(ctx)
	return ids, translate(err, "listing users with accounts")
}

// MailDay is a user's mail on one UTC day in one category ("" when not
// classified yet).
type MailDay struct {
	Day              time.Time
	Category         string
	Received, Unread int64
}

// AnalyticsMailDays returns the user's mail per day and category between
// two UTC dates, both included.
func (s *Store) AnalyticsMailDays(ctx context.Context, userID int64, from, to time.Time) ([]MailDay, error) {
	rows, err := s.q.AnalyticsMailDays(ctx, dbsqlc.AnalyticsMailDaysParams{UserID: userID, FromDay: utcDate(from), ToDay: utcDate(to)})
	if err != nil {
		return nil, translate(err, "reading mail days")
	}
	out := make([]MailDay, len(rows))
	for i, r := range rows {
		out[i] = MailDay{Day: r.Day.Time, Category: r.Category, Received: r.Received, Unread: r.Unread}
	}
	return out, nil
}

// MailTotals is a user's stored mail over all days.
type MailTotals struct {
	Received, Unread, Classified int64
}

// AnalyticsMailTotals returns the user's rolled-up totals.
func (s *Store) AnalyticsMailTotals(ctx context.Context, userID int64) (MailTotals, error) {
	r, err := s.q.AnalyticsMailTotals(ctx, userID)
	if err != nil {
		return MailTotals{}, translate(err, "reading mail totals")
	}
	return MailTotals{Received: r.Received, Unread: r.Unread, Classified: r.Classified}, nil
}

// TopSender is one of a user's most frequent senders.
type TopSender struct {
	Rank             int
	Sender           string
	Messages, Unread int64
	LastAt           time.Time
}

// AnalyticsSenders returns the user's top senders by rank.
func (s *Store) AnalyticsSenders(ctx context.Context, userID int64) ([]TopSender, error) {
	rows, err := s.q.AnalyticsSenders(ctx, userID)
	if err != nil {
		return nil, translate(err, "reading top senders")
	}
	out := make([]TopSender, len(rows))
	for i, r := range rows {
		out[i] = TopSender{Rank: int(r.Rank), Sender: r.Sender, Messages: r.Messages, Unread: r.Unread, LastAt: r.LastAt}
	}
	return out, nil
}

// BulkDay is what a user's completed bulk tasks of one kind changed on a
// UTC day.
type BulkDay struct {
	Day             time.Time
	Kind            string
	Tasks, Messages int64
}

// AnalyticsBulkDays returns the user's bulk days between two UTC dates.
func (s *Store) AnalyticsBulkDays(ctx context.Context, userID int64, from, to time.Time) ([]BulkDay, error) {
	rows, err := s.q.AnalyticsBulkDays(ctx, dbsqlc.AnalyticsBulkDaysParams{UserID: userID, FromDay: utcDate(from), ToDay: utcDate(to)})
	if err != nil {
		return nil, translate(err, "reading bulk days")
	}
	out := make([]BulkDay, len(rows))
	for i, r := range rows {
		out[i] = BulkDay{Day: r.Day.Time, Kind: r.Kind, Tasks: r.Tasks, Messages: r.Messages}
	}
	return out, nil
}

// AccountSync is when one of a user's accounts last synced.
type AccountSync struct {
	ID           int64
	Email        string
	Status       string
	LastSyncedAt *time.Time
}

// AnalyticsAccounts returns the user's accounts with their last sync.
func (s *Store) AnalyticsAccounts(ctx context.Context, userID int64) ([]AccountSync, error) {
	rows, err := s.q.AnalyticsAccountsSync(ctx, userID)
	if err != nil {
		return nil, translate(err, "reading accounts")
	}
	out := make([]AccountSync, len(rows))
	for i, r := range rows {
		out[i] = AccountSync{ID: r.ID, Email: r.Email, Status: r.Status, LastSyncedAt: r.LastSyncedAt}
	}
	return out, nil
}

// AnalyticsRolledAt is when a user's (0: the system's) rollup of finished
// jobs last advanced; nil before it has.
func (s *Store) AnalyticsRolledAt(ctx context.Context, userID int64) (*time.Time, error) {
	w, err := s.q.AnalyticsWatermarkGet(ctx, userID)
	if err != nil {
		if err = translate(err, "reading the watermark"); errors.Is(err, inbox.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return &w.RolledAt, nil
}

// TaskDay is the tasks of one kind finished on a UTC day.
type TaskDay struct {
	Day                       time.Time
	Kind                      string
	Completed, Failed, Cancel int64
	RunP50, RunP95            float64 // ms
	WaitP50, WaitP95          float64 // ms
	QuotaUnits                float64
}

// AnalyticsTaskDays returns tasks per kind and day between two UTC dates.
func (s *Store) AnalyticsTaskDays(ctx context.Context, from, to time.Time) ([]TaskDay, error) {
	rows, err := s.q.AnalyticsTaskDays(ctx, dbsqlc.AnalyticsTaskDaysParams{FromDay: utcDate(from), ToDay: utcDate(to)})
	if err != nil {
		return nil, translate(err, "reading task days")
	}
	out := make([]TaskDay, len(rows))
	for i, r := range rows {
		out[i] = TaskDay{Day: r.Day.Time, Kind: r.Kind, Completed: r.Completed, Failed: r.Failed, Cancel: r.Cancelled,
			RunP50: r.RunP50Ms, RunP95: r.RunP95Ms, WaitP50: r.WaitP50Ms, WaitP95: r.WaitP95Ms, QuotaUnits: r.QuotaUnits}
	}
	return out, nil
}

// LLMDay is LLM use over all users on a UTC day.
type LLMDay struct {
	Day time.Time
	LLMUsage
}

// AnalyticsLLMDays returns LLM use per day between two UTC dates.
func (s *Store) AnalyticsLLMDays(ctx context.Context, from, to time.Time) ([]LLMDay, error) {
	rows, err := s.q.AnalyticsLLMDays(ctx, dbsqlc.AnalyticsLLMDaysParams{FromDay: utcDate(from), ToDay: utcDate(to)})
	if err != nil {
		return nil, translate(err, "reading llm days")
	}
	out := make([]LLMDay, len(rows))
	for i, r := range rows {
		out[i] = LLMDay{Day: r.Day.Time, LLMUsage: LLMUsage{Requests: r.Requests, PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens}}
	}
	return out, nil
}
