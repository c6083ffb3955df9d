package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store"
)

// AnalyticsStore reads the rollups that update_analytics and
// update_system_analytics write (internal/jobs/analytics.go).
type AnalyticsStore interface {
	AnalyticsMailDays(ctx context.Context, userID int64, from, to time.Time) ([]store.MailDay, error)
	AnalyticsMailTotals(ctx context.Context, userID int64) (store.MailTotals, error)
	AnalyticsSenders(ctx context.Context, userID int64) ([]store.TopSender, error)
	AnalyticsBulkDays(ctx context.Context, userID int64, from, to time.Time) ([]store.BulkDay, error)
	AnalyticsAccounts(ctx context.Context, userID int64) ([]store.AccountSync, error)
	AnalyticsRolledAt(ctx context.Context, userID int64) (*time.Time, error)
	AnalyticsTaskDays(ctx context.Context, from, to time.Time) ([]store.TaskDay, error)
	AnalyticsLLMDays(ctx context.Context, from, to time.Time) ([]store.LLMDay, error)
}

// analyticsMaxDays is the longest range one request may ask for.
const analyticsMaxDays = 366

// AnalyticsRangeInput is a range of UTC dates, both included.
type AnalyticsRangeInput struct {
	From string `query:"from" pattern:"^[0-9]{4}-[0-9]{2}-[0-9]{2}$" doc:"First UTC date, YYYY-MM-DD; default 29 days before to"`
	To   string `query:"to" pattern:"^[0-9]{4}-[0-9]{2}-[0-9]{2}$" doc:"Last UTC date, YYYY-MM-DD, included; default today (UTC)"`
}

// dates parses the range, with its defaults: the last 30 days.
func (in AnalyticsRangeInput) dates(now time.Time) (from, to time.Time, err error) {
	y, m, d := now.UTC().Date()
	to = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if in.To != "" {
		if to, err = time.Parse(time.DateOnly, in.To); err != nil {
			return from, to, inbox.Invalid("query.to", "not a date: %s", in.To)
		}
	}
	from = to.AddDate(0, 0, -29)
	if in.From != "" {
		if from, err = time.Parse(time.DateOnly, in.From); err != nil {
			return from, to, inbox.Invalid("query.from", "not a date: %s", in.From)
		}
	}
	if from.After(to) {
		return from, to, inbox.Invalid("query.from", "from is after to")
	}
	if days(from, to) > analyticsMaxDays {
		return from, to, inbox.Invalid("query.from", "at most %d days at once", analyticsMaxDays)
	}
	return from, to, nil
}

// days counts the dates from from to to, both included.
func days(from, to time.Time) int { return int(to.Sub(from).Hours()/24) + 1 }

// CategoryCounts is messages per category shown.
type CategoryCounts struct {
	Primary      int64 `json:"primary" doc:"Primary"`
	Social       int64 `json:"social" doc:"Social"`
	Promotions   int64 `json:"promotions" doc:"Promotions"`
	Updates      int64 `json:"updates" doc:"Updates"`
	Forums       int64 `json:"forums" doc:"Forums"`
	Newsletters  int64 `json:"newsletters" doc:"Newsletters"`
	Spam         int64 `json:"spam" doc:"Spam"`
	Unclassified int64 `json:"unclassified" doc:"Not classified yet"`
}

func (c *CategoryCounts) add(category string, n int64) {
	switch category {
	case "primary":
		c.Primary += n
	case "social":
		c.Social += n
	case "promotions":
		c.Promotions += n
	case "updates":
		c.Updates += n
	case "forums":
		c.Forums += n
	case "newsletters":
		c.Newsletters += n
	case "spam":
		c.Spam += n
	default:
		c.Unclassified += n
	}
}

// MailDay is a day of the caller's stored mail.
type MailDay struct {
	Day        string         `json:"day" doc:"UTC date, YYYY-MM-DD"`
	Received   int64          `json:"received" doc:"Messages received that day (Gmail's internal date) and still stored"`
	Unread     int64          `json:"unread" doc:"Of those, how many carry Gmail's UNREAD label"`
	Classified int64          `json:"classified" doc:"Of those, how many have a category"`
	Categories CategoryCounts `json:"categories" doc:"Received per category shown (your correction, else the classifier's)"`
}

// TopSender is one of the caller's most frequent senders.
type TopSender struct {
	Rank     int       `json:"rank" minimum:"1" doc:"1 for the sender with the most stored messages"`
	Sender   string    `json:"sender" doc:"The From header as Gmail returns it"`
	Messages int64     `json:"messages" doc:"Stored messages from this sender, over all days"`
	Unread   int64     `json:"unread" doc:"Of those, unread"`
	LastAt   time.Time `json:"last_at" doc:"Their newest message's date"`
}

// BulkDay is what the caller's bulk tasks of one kind changed on a day.
type BulkDay struct {
	Day      string `json:"day" doc:"UTC date the tasks finished, YYYY-MM-DD"`
	Kind     string `json:"kind" doc:"bulk_archive_emails, bulk_delete_emails or bulk_label_emails"`
	Tasks    int64  `json:"tasks" doc:"Tasks of this kind completed that day"`
	Messages int64  `json:"messages" doc:"Messages they archived, deleted or relabelled"`
}

// AccountSync is when one of the caller's accounts last synced.
type AccountSync struct {
	ID               int64      `json:"id" doc:"Account id"`
	Email            string     `json:"email" doc:"The Gmail address"`
	Status           string     `json:"status" enum:"connected,needs_reauth,disconnected" doc:"Whether inboxq can reach it"`
	LastSyncedAt     *time.Time `json:"last_synced_at,omitempty" doc:"When a sync last finished; absent before the first"`
	SecondsSinceSync *int64     `json:"seconds_since_sync,omitempty" doc:"Seconds from that sync to this response; absent before the first"`
}

// AnalyticsSummary is the caller's mail over all days.
type AnalyticsSummary struct {
	Messages     int64   `json:"messages" doc:"Stored messages, all days"`
	Unread       int64   `json:"unread" doc:"Of those, unread"`
	Classified   int64   `json:"classified" doc:"Of those, with a category"`
	Coverage     float64 `json:"coverage" minimum:"0" maximum:"1" doc:"classified ÷ messages, 0 to 1 (1 when there are none)"`
	BulkMessages int64   `json:"bulk_messages" doc:"Messages your bulk tasks changed within the range"`
}

// AnalyticsOutput is the caller's analytics.
type AnalyticsOutput struct {
	Body struct {
		From     string           `json:"from" doc:"First date of the series, YYYY-MM-DD"`
		To       string           `json:"to" doc:"Last date of the series, YYYY-MM-DD"`
		Days     []MailDay        `json:"days" doc:"One entry per date from from to to, zeros included"`
		Summary  AnalyticsSummary `json:"summary" doc:"Totals over all stored mail"`
		Senders  []TopSender      `json:"senders" doc:"Top senders by stored messages (at most 20)"`
		Bulk     []BulkDay        `json:"bulk" doc:"What your bulk tasks changed, per day and kind, within the range"`
		Accounts []AccountSync    `json:"accounts" doc:"Your accounts and their last sync"`
	}
}

// TaskDay is one kind's finished tasks on one day.
type TaskDay struct {
	Day         string  `json:"day" doc:"UTC date they finished, YYYY-MM-DD"`
	Kind        string  `json:"kind" doc:"Task kind"`
	Completed   int64   `json:"completed" doc:"Completed"`
	Failed      int64   `json:"failed" doc:"Failed for good (attempts exhausted, or given up)"`
	Cancelled   int64   `json:"cancelled" doc:"Cancelled by someone"`
	FailureRate float64 `json:"failure_rate" minimum:"0" maximum:"1" doc:"failed ÷ (completed + failed); 0 when none"`
	RunP50MS    float64 `json:"run_p50_ms" doc:"Median run time of the last attempt (finished − attempted), ms"`
	RunP95MS    float64 `json:"run_p95_ms" doc:"95th percentile run time, ms"`
	WaitP50MS   float64 `json:"wait_p50_ms" doc:"Median queue wait of the last attempt (attempted − scheduled), ms"`
	WaitP95MS   float64 `json:"wait_p95_ms" doc:"95th percentile queue wait, ms"`
	QuotaUnits  float64 `json:"quota_units" doc:"Gmail quota units the tasks recorded (syncs record their last slice's)"`
}

// SystemDay is the whole system on one day.
type SystemDay struct {
	Day         string  `json:"day" doc:"UTC date, YYYY-MM-DD"`
	Completed   int64   `json:"completed" doc:"Tasks completed"`
	Failed      int64   `json:"failed" doc:"Tasks failed for good"`
	Cancelled   int64   `json:"cancelled" doc:"Tasks cancelled"`
	FailureRate float64 `json:"failure_rate" minimum:"0" maximum:"1" doc:"failed ÷ (completed + failed); 0 when none"`
	QuotaUnits  float64 `json:"quota_units" doc:"Gmail quota units recorded by tasks"`
	LLMRequests int64   `json:"llm_requests" doc:"Requests sent to the LLM (all users)"`
	LLMTokens   int64   `json:"llm_tokens" doc:"Tokens the LLM reported, prompt and completion (all users)"`
}

// SystemAnalyticsOutput is the operators' analytics.
type SystemAnalyticsOutput struct {
	Body struct {
		From     string      `json:"from" doc:"First date of the series, YYYY-MM-DD"`
		To       string      `json:"to" doc:"Last date of the series, YYYY-MM-DD"`
		Days     []SystemDay `json:"days" doc:"One entry per date from from to to, zeros included"`
		Tasks    []TaskDay   `json:"tasks" doc:"Per day and kind, for days with finished tasks"`
		RolledAt *time.Time  `json:"rolled_at,omitempty" doc:"When the task rollup last took in finished tasks; absent before its first run"`
	}
}

func registerAnalytics(api huma.API, d Deps) {
	if d.Analytics == nil {
		return
	}
	st := d.Analytics
	tags := []string{"Analytics"}
	huma.Register(api, huma.Operation{
		OperationID: "get-analytics", Method: http.MethodGet, Path: Prefix + "/analytics",
		Summary: "Your mail analytics",
		Description: "Your mail per day and category (received, unread, classified), totals and classification coverage, top senders, " +
			"what your bulk tasks changed, and each account's last sync. From rollups that update_analytics keeps (hourly, and when you start it).",
		Tags: tags, Security: bearer, Errors: []int{http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *AnalyticsRangeInput) (*AnalyticsOutput, error) {
		now := time.Now()
		from, to, err := in.dates(now)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		user := principal(ctx).UserID
		mail, err := st.AnalyticsMailDays(ctx, user, from, to)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		totals, err := st.AnalyticsMailTotals(ctx, user)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		senders, err := st.AnalyticsSenders(ctx, user)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		bulk, err := st.AnalyticsBulkDays(ctx, user, from, to)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		accts, err := st.AnalyticsAccounts(ctx, user)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &AnalyticsOutput{}
		b := &out.Body
		b.From, b.To = from.Format(time.DateOnly), to.Format(time.DateOnly)
		b.Days = mailDays(from, to, mail)
		b.Summary = AnalyticsSummary{Messages: totals.Received, Unread: totals.Unread, Classified: totals.Classified, Coverage: 1}
		if totals.Received > 0 {
			b.Summary.Coverage = float64(totals.Classified) / float64(totals.Received)
		}
		b.Senders = make([]TopSender, len(senders))
		for i, s := range senders {
			b.Senders[i] = TopSender{Rank: s.Rank, Sender: s.Sender, Messages: s.Messages, Unread: s.Unread, LastAt: s.LastAt}
		}
		b.Bulk = make([]BulkDay, len(bulk))
		for i, x := range bulk {
			b.Bulk[i] = BulkDay{Day: x.Day.Format(time.DateOnly), Kind: x.Kind, Tasks: x.Tasks, Messages: x.Messages}
			b.Summary.BulkMessages += x.Messages
		}
		b.Accounts = make([]AccountSync, len(accts))
		for i, a := range accts {
			b.Accounts[i] = AccountSync{ID: a.ID, Email: a.Email, Status: a.Status, LastSyncedAt: a.LastSyncedAt}
			if a.LastSyncedAt != nil {
				s := int64(max(now.Sub(*a.LastSyncedAt), 0) / time.Second)
				b.Accounts[i].SecondsSinceSync = &s
			}
		}
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "get-system-analytics", Method: http.MethodGet, Path: Prefix + "/analytics/system",
		Summary: "System analytics (admins)",
		Description: "Finished tasks per day and kind: outcomes, failure rate, p50/p95 run time and queue wait, Gmail quota units; " +
			"and LLM requests and tokens per day. From rollups that update_system_analytics keeps hourly, so they outlive River's retention.",
		Tags: tags, Security: bearer, Errors: []int{http.StatusForbidden, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *AnalyticsRangeInput) (*SystemAnalyticsOutput, error) {
		if !principal(ctx).IsAdmin() {
			return nil, huma.Error403Forbidden("admins only")
		}
		from, to, err := in.dates(time.Now())
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		tasks, err := st.AnalyticsTaskDays(ctx, from, to)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		llm, err := st.AnalyticsLLMDays(ctx, from, to)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		rolled, err := st.AnalyticsRolledAt(ctx, 0)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &SystemAnalyticsOutput{}
		b := &out.Body
		b.From, b.To, b.RolledAt = from.Format(time.DateOnly), to.Format(time.DateOnly), rolled
		b.Days = make([]SystemDay, days(from, to))
		for i := range b.Days {
			b.Days[i].Day = from.AddDate(0, 0, i).Format(time.DateOnly)
		}
		b.Tasks = make([]TaskDay, len(tasks))
		for i, t := range tasks {
			b.Tasks[i] = TaskDay{Day: t.Day.Format(time.DateOnly), Kind: t.Kind, Completed: t.Completed, Failed: t.Failed, Cancelled: t.Cancel,
				FailureRate: rate(t.Failed, t.Completed), RunP50MS: t.RunP50, RunP95MS: t.RunP95, WaitP50MS: t.WaitP50, WaitP95MS: t.WaitP95, QuotaUnits: t.QuotaUnits}
			sd := &b.Days[days(from, t.Day)-1]
			sd.Completed += t.Completed
			sd.Failed += t.Failed
			sd.Cancelled += t.Cancel
			sd.QuotaUnits += t.QuotaUnits
		}
		for _, l := range llm {
			sd := &b.Days[days(from, l.Day)-1]
			sd.LLMRequests, sd.LLMTokens = l.Requests, l.PromptTokens+l.CompletionTokens
		}
		for i := range b.Days {
			b.Days[i].FailureRate = rate(b.Days[i].Failed, b.Days[i].Completed)
		}
		return out, nil
	})
}

// rate is failed ÷ (completed + failed), 0 when none finished.
func rate(failed, completed int64) float64 {
	if failed+completed == 0 {
		return 0
	}
	return float64(failed) / float64(failed+completed)
}

// mailDays spreads rollup rows over every date of the range.
func mailDays(from, to time.Time, rows []store.MailDay) []MailDay {
	out := make([]MailDay, days(from, to))
	for i := range out {
		out[i].Day = from.AddDate(0, 0, i).Format(time.DateOnly)
	}
	for _, r := range rows {
		md := &out[days(from, r.Day)-1]
		md.Received += r.Received
		md.Unread += r.Unread
		if r.Category != "" {
			md.Classified += r.Received
		}
		md.Categories.add(r.Category, r.Received)
	}
	return out
}
