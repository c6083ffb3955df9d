package jobs_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/store"
)

// analyticsUser adds a user with one account and returns their ids.
func analyticsUser(t *testing.T, s inboxqtest.Schema, name string) (user, account int64) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, s.Pool.QueryRow(ctx, `INSERT INTO app_user (name) VALUES ($1) RETURNING id`, name).Scan(&user))
	require.NoError(t, s.Pool.QueryRow(ctx, `INSERT INTO account (owner_id, email) VALUES ($1, $2) RETURNING id`,
		user, name+"@example.com").Scan(&account))
	return user, account
}

// addMessages stores n messages in the account from id prefix p, spread
// over ten days from 2026-11-01 (UTC), four categories (one unclassified),
// seven senders, every third unread.
func addMessages(t *testing.T, s inboxqtest.Schema, account int64, p string, n int) {
	t.Helper()
	_, err := s.Pool.Exec(context.Background(), `
		INSERT INTO message (account_id, id, thread_id, from_addr, internal_date, label_ids, category)
		SELECT $1, $2 || g, 't' || g, 'sender' || (g % 7) || '@example.com',
		       timestamptz '2026-11-01 00:00:00+00' + (g % 10) * interval '1 day' + (g % 24) * interval '1 hour',
		       CASE WHEN g % 3 = 0 THEN '{UNREAD,INBOX}'::text[] ELSE '{INBOX}'::text[] END,
		       (ARRAY['primary', 'social', 'promotions', NULL])[1 + g % 4]
		FROM generate_series(1, $3::int) g`, account, p, n)
	require.NoError(t, err)
}

type mailRow struct {
	Day              string
	Category         string
	Received, Unread int64
}

// collect runs a query of (day, category, received, unread) rows.
func collect(t *testing.T, s inboxqtest.Schema, sql string, args ...any) []mailRow {
	t.Helper()
	rows, err := s.Pool.Query(context.Background(), sql, args...)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[mailRow])
	require.NoError(t, err)
	return out
}

// rolledUp is the user's mail rollup; direct is the same counted over
// the messages.
func rolledUp(t *testing.T, s inboxqtest.Schema, user int64) []mailRow {
	return collect(t, s, `SELECT r.day::text, r.category, sum(r.received)::bigint, sum(r.unread)::bigint
		FROM analytics_mail_day r JOIN account a ON a.id = r.account_id WHERE a.owner_id = $1
		GROUP BY 1, 2 ORDER BY 1, 2`, user)
}

func direct(t *testing.T, s inboxqtest.Schema, user int64) []mailRow {
	return collect(t, s, `SELECT (m.internal_date AT TIME ZONE 'UTC')::date::text, coalesce(m.shown_category, ''),
		count(*)::bigint, count(*) FILTER (WHERE 'UNREAD' = ANY (m.label_ids))::bigint
		FROM message m JOIN account a ON a.id = m.account_id WHERE a.owner_id = $1
		GROUP BY 1, 2 ORDER BY 1, 2`, user)
}

// versions maps each rollup row of the account to its row version (xmin),
// which changes exactly when the row is written.
func versions(t *testing.T, s inboxqtest.Schema, account int64) map[string]string {
	t.Helper()
	rows, err := s.Pool.Query(context.Background(),
		`SELECT day::text || '/' || category, xmin::text FROM analytics_mail_day WHERE account_id = $1`, account)
	require.NoError(t, err)
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		require.NoError(t, rows.Scan(&k, &v))
		out[k] = v
	}
	require.NoError(t, rows.Err())
	return out
}

func updateAnalytics(t *testing.T, s inboxqtest.Schema, user int64) store.AnalyticsUserRollup {
	t.Helper()
	job := work(t, s, &jobs.UpdateAnalyticsWorker{Store: store.New(s.Pool)}, jobs.UpdateAnalyticsArgs{Owned: jobs.Owned{OwnerID: user}})
	var res store.AnalyticsUserRollup
	require.NoError(t, json.Unmarshal(job.Output(), &res))
	return res
}

func TestAnalyticsUserRollupsAreIncremental(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	alice, aliceAcct := analyticsUser(t, s, "alice")
	bob, bobAcct := analyticsUser(t, s, "bob")
	addMessages(t, s, aliceAcct, "a", 600)
	addMessages(t, s, bobAcct, "b", 70)

	// The first run counts everything, and only alice's.
	res := updateAnalytics(t, s, alice)
	require.EqualValues(t, 10, res.Days, "ten days of alice's mail")
	require.Positive(t, res.MailRows)
	require.EqualValues(t, len(direct(t, s, alice)), res.MailRows, "one row per day and category, all new")
	require.Equal(t, direct(t, s, alice), rolledUp(t, s, alice))
	require.Empty(t, rolledUp(t, s, bob), "bob's rollup is his own task's")
	var senders int64
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM analytics_sender WHERE user_id = $1`, alice).Scan(&senders))
	require.EqualValues(t, 7, senders)
	var top int64
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT messages FROM analytics_sender WHERE user_id = $1 AND rank = 1`, alice).Scan(&top))
	require.EqualValues(t, 86, top, "600 messages over 7 senders: the largest has 86")

	// Nothing new: nothing written.
	before := versions(t, s, aliceAcct)
	require.Equal(t, store.AnalyticsUserRollup{}, updateAnalytics(t, s, alice))
	require.Equal(t, before, versions(t, s, aliceAcct))

	// New mail on one day, a classification on another, a deletion on a
	// third: those days are recounted, the others are not rewritten.
	_, err := s.Pool.Exec(ctx, `INSERT INTO message (account_id, id, thread_id, internal_date, category)
		VALUES ($1, 'new1', 't', '2026-11-03 05:00:00+00', 'spam'), ($1, 'new2', 't', '2026-11-03 06:00:00+00', 'spam')`, aliceAcct)
	require.NoError(t, err)
	_, err = s.Pool.Exec(ctx, `UPDATE message SET category = 'updates'
		WHERE account_id = $1 AND category IS NULL AND internal_date::date = '2026-11-06'`, aliceAcct)
	require.NoError(t, err)
	_, err = s.Pool.Exec(ctx, `DELETE FROM message WHERE account_id = $1 AND internal_date::date = '2026-11-08' AND category = 'social'`, aliceAcct)
	require.NoError(t, err)
	res = updateAnalytics(t, s, alice)
	require.EqualValues(t, 3, res.Days)
	require.Equal(t, direct(t, s, alice), rolledUp(t, s, alice))
	after := versions(t, s, aliceAcct)
	for k, v := range after {
		day := k[:10]
		if day == "2026-11-03" || day == "2026-11-06" || day == "2026-11-08" {
			continue
		}
		require.Equal(t, before[k], v, "%s was not touched and is not rewritten", k)
	}
	require.Contains(t, after, "2026-11-03/spam")
	require.NotContains(t, after, "2026-11-08/social", "a category with no messages left is removed")
	require.NotContains(t, after, "2026-11-06/", "the day's unclassified mail is now updates")

	// Bob's first run counts his.
	updateAnalytics(t, s, bob)
	require.Equal(t, direct(t, s, bob), rolledUp(t, s, bob))

	// Deleting an account drops its rollups and, at the system run, its marks.
	_, err = s.Pool.Exec(ctx, `DELETE FROM account WHERE id = $1`, bobAcct)
	require.NoError(t, err)
	require.Empty(t, rolledUp(t, s, bob))
	st := store.New(s.Pool)
	roll, err := st.AnalyticsUpdateSystem(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 10, roll.PrunedDirty)
}

func TestAnalyticsBulkRemovals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	alice, acct := analyticsUser(t, s, "alice")
	bob, _ := analyticsUser(t, s, "bob")
	finished := func(kind string, owner int64, state string, messages int) {
		t.Helper()
		_, err := s.Pool.Exec(ctx, `INSERT INTO river_job (kind, args, queue, state, attempt, attempted_at, finalized_at, max_attempts, priority, metadata)
			VALUES ($1, jsonb_build_object('owner_id', $2::bigint, 'account_id', $3::bigint), 'bulk', $4::river_job_state, 1,
			        now() - interval '2 seconds', now() - interval '1 second', 1, 1,
			        jsonb_build_object('output', jsonb_build_object('messages', $5::int, 'batch_calls', 1)))`,
			kind, owner, acct, state, messages)
		require.NoError(t, err)
	}
	finished("bulk_archive_emails", alice, "completed", 40)
	finished("bulk_archive_emails", alice, "completed", 2)
	finished("bulk_delete_emails", alice, "completed", 7)
	finished("bulk_delete_emails", alice, "discarded", 99) // failed: changed nothing recorded
	finished("bulk_archive_emails", bob, "completed", 1000)

	res := updateAnalytics(t, s, alice)
	require.EqualValues(t, 2, res.BulkRows)
	st := store.New(s.Pool)
	days, err := st.AnalyticsBulkDays(ctx, alice, mustDay("2000-01-01"), mustDay("2100-01-01"))
	require.NoError(t, err)
	require.Len(t, days, 2)
	got := map[string][2]int64{}
	for _, d := range days {
		got[d.Kind] = [2]int64{d.Tasks, d.Messages}
	}
	require.Equal(t, map[string][2]int64{"bulk_archive_emails": {2, 42}, "bulk_delete_emails": {1, 7}}, got)

	// Nothing new: nothing written, the watermark stays.
	require.Equal(t, store.AnalyticsUserRollup{}, updateAnalytics(t, s, alice))

	// One more: the day is recounted.
	finished("bulk_archive_emails", alice, "completed", 8)
	res = updateAnalytics(t, s, alice)
	require.EqualValues(t, 1, res.BulkRows)
	days, err = st.AnalyticsBulkDays(ctx, alice, mustDay("2000-01-01"), mustDay("2100-01-01"))
	require.NoError(t, err)
	require.EqualValues(t, 50, days[0].Messages)
}

func TestAnalyticsSystemRollupCountsTasks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	alice, _ := analyticsUser(t, s, "alice")
	analyticsUser(t, s, "bob")
	// Four completed syncs with runs of 1..4 s after waits of 0.1..0.4 s
	// and 10 quota units each, one failed for good, one cancelled.
	_, err := s.Pool.Exec(ctx, `INSERT INTO river_job (kind, args, queue, state, attempt, scheduled_at, attempted_at, finalized_at, max_attempts, priority, metadata)
		SELECT 'sync_user_emails', '{}', 'sync', 'completed', 1,
		       now() - interval '1 minute' - g * interval '100 milliseconds', now() - interval '1 minute',
		       now() - interval '1 minute' + g * interval '1 second', 1, 1, '{"output": {"quota_units": 10}}'
		FROM generate_series(1, 4) g`)
	require.NoError(t, err)
	_, err = s.Pool.Exec(ctx, `INSERT INTO river_job (kind, args, queue, state, attempt, attempted_at, finalized_at, max_attempts, priority, metadata)
		VALUES ('sync_user_emails', '{}', 'sync', 'discarded', 1, now() - interval '3 seconds', now() - interval '2 seconds', 1, 1, '{}'),
		       ('sync_user_emails', '{}', 'sync', 'cancelled', 0, NULL, now() - interval '2 seconds', 1, 1, '{"cancel_attempted_at": "2026-01-01T00:00:00Z"}')`)
	require.NoError(t, err)

	job := work(t, s, &jobs.UpdateSystemAnalyticsWorker{Store: store.New(s.Pool)}, jobs.UpdateSystemAnalyticsArgs{})
	var res jobs.SystemAnalyticsResult
	require.NoError(t, json.Unmarshal(job.Output(), &res))
	require.EqualValues(t, 1, res.TaskRows)
	require.Equal(t, 2, res.Users, "every user with an account rolled up")
	st := store.New(s.Pool)
	days, err := st.AnalyticsTaskDays(ctx, mustDay("2000-01-01"), mustDay("2100-01-01"))
	require.NoError(t, err)
	require.Len(t, days, 1)
	d := days[0]
	require.Equal(t, "sync_user_emails", d.Kind)
	var wantCancelled int64
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'sync_user_emails'
		AND inboxq_task_state(state, metadata, errors) = 'cancelled'`).Scan(&wantCancelled))
	require.EqualValues(t, 4, d.Completed)
	require.EqualValues(t, 1, d.Failed)
	require.EqualValues(t, wantCancelled, d.Cancel)
	require.InDelta(t, 2000, d.RunP50, 1, "runs of 1, 1, 2, 3, 4 s; the cancelled task never ran")
	require.InDelta(t, 200, d.WaitP50, 1, "waits of 0, 0.1 ... 0.4 s")
	require.InDelta(t, 40, d.QuotaUnits, 0.001)

	// The rollup's own task finished since: the next run counts it (a new
	// kind that day); then nothing finished, and a run writes nothing.
	roll, err := st.AnalyticsUpdateSystem(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, roll.TaskRows)
	roll, err = st.AnalyticsUpdateSystem(ctx)
	require.NoError(t, err)
	require.Zero(t, roll.TaskRows, "no task finished since")

	// The users' rollups ran: alice has none to do now.
	again, err := st.AnalyticsUpdateUser(ctx, alice, jobs.BulkKinds)
	require.NoError(t, err)
	require.Equal(t, store.AnalyticsUserRollup{}, again)

	// A person's own rollup is unique while unfinished (rivertest's harness
	// does not enforce uniqueness, so a real client inserts here).
	client, err := river.NewClient(riverpgxv5.New(s.Pool), &river.Config{Schema: s.Name})
	require.NoError(t, err)
	args := river.InsertManyParams{Args: jobs.UpdateAnalyticsArgs{Owned: jobs.Owned{OwnerID: alice}}}
	first, err := client.InsertMany(ctx, []river.InsertManyParams{args})
	require.NoError(t, err)
	require.False(t, first[0].UniqueSkippedAsDuplicate)
	dup, err := client.InsertMany(ctx, []river.InsertManyParams{args})
	require.NoError(t, err)
	require.True(t, dup[0].UniqueSkippedAsDuplicate)
}

func mustDay(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}
