package store_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/store"
)

// fillJobsSQL writes %[1]d river_job rows in one statement, shaped like a
// busy service's table under River's cleaner: the older 98 % finished (97 %
// completed, the rest discarded or cancelled, with errors or a cancel
// request), the newest 2 % also available, pending, running (some being
// cancelled), scheduled and retryable; 90 % owned by one of 200 users, the
// rest system jobs without an owner. Triggers are off while it runs: the
// fill is not River's traffic, and a million events would measure NOTIFY.
const fillJobsSQL = `
INSERT INTO app_user (name) SELECT 'user' || i FROM generate_series(1, 200) i;
ALTER TABLE river_job DISABLE TRIGGER USER;
INSERT INTO river_job (state, attempt, max_attempts, attempted_at, created_at, finalized_at, scheduled_at, priority,
                       args, attempted_by, errors, kind, metadata, queue, tags)
SELECT x.state::river_job_state,
       CASE WHEN x.state IN ('available', 'pending') THEN 0 WHEN x.state = 'discarded' THEN 5 ELSE 1 END,
       5,
       CASE WHEN x.state NOT IN ('available', 'pending') THEN x.created_at + interval '1 second' END,
       x.created_at,
       CASE WHEN x.state IN ('completed', 'discarded', 'cancelled') THEN x.created_at + interval '3 seconds' END,
       CASE WHEN x.state IN ('scheduled', 'retryable') THEN now() + interval '1 hour' ELSE x.created_at END,
       CASE WHEN x.owner IS NULL THEN 1 ELSE 2 END,
       CASE WHEN x.owner IS NULL THEN jsonb_build_object('full', x.g %% 2 = 0)
            ELSE jsonb_build_object('owner_id', x.owner, 'account_id', x.owner * 10 + x.g %% 3, 'page_size', 500) END,
       CASE WHEN x.state NOT IN ('available', 'pending') THEN ARRAY['worker-' || x.g %% 4] END,
       CASE WHEN x.err THEN ARRAY[jsonb_build_object('at', x.created_at + interval '2 seconds', 'attempt', 1,
                                                     'error', 'gmail: 503 backend error', 'trace', '')] END,
       x.kind,
       jsonb_strip_nulls(jsonb_build_object(
           'priority', CASE WHEN x.owner IS NOT NULL THEN 1 + x.g %% 4 END,
           'output', CASE WHEN x.state = 'completed' AND x.g %% 3 = 0 THEN jsonb_build_object('messages', x.g %% 977) END,
           'cancel_attempted_at', CASE WHEN x.cancel THEN x.created_at + interval '2 seconds' END)),
       x.queue,
       '{}'
FROM (
    SELECT s.g, s.created_at, s.owner, s.state, s.err, s.cancel,
           CASE WHEN s.owner IS NULL THEN 'maintenance'
                WHEN s.k < 50 THEN 'gmail_sync' WHEN s.k < 80 THEN 'classify' WHEN s.k < 95 THEN 'bulk_label' ELSE 'export' END AS kind,
           CASE WHEN s.owner IS NULL THEN 'maintenance'
                WHEN s.k < 50 THEN 'sync' WHEN s.k < 80 THEN 'classify' WHEN s.k < 95 THEN 'bulk' ELSE 'default' END AS queue
    FROM (
        SELECT t.g, t.created_at, t.owner, t.k, st.state, st.err, st.cancel
        FROM (SELECT g,
                     now() - (%[1]d - g) * interval '600 milliseconds' AS created_at,
                     CASE WHEN g %% 10 = 0 THEN NULL ELSE abs(hashint8(g * 3)::bigint) %% 200 + 1 END AS owner,
                     abs(hashint8(g * 3 + 1)::bigint) %% 100 AS k,
                     abs(hashint8(g * 3 + 2)::bigint) %% 1000 AS h,
                     g > %[1]d * 49 / 50 AS recent
              FROM generate_series(1::bigint, %[1]d) AS g) t
        CROSS JOIN LATERAL (
            SELECT * FROM (VALUES
                -- older jobs are finished: 97 %% completed, the rest failed or cancelled
                (false, 0, 970, 'completed', false, false),
                (false, 970, 982, 'discarded', true, false),
                (false, 982, 988, 'cancelled', false, true),
                (false, 988, 994, 'cancelled', true, false),
                (false, 994, 1000, 'completed', false, false),
                -- the last 2 %% include everything in flight
                (true, 0, 600, 'completed', false, false),
                (true, 600, 650, 'available', false, false),
                (true, 650, 700, 'pending', false, false),
                (true, 700, 750, 'running', false, false),
                (true, 750, 770, 'running', false, true),
                (true, 770, 800, 'scheduled', false, false),
                (true, 800, 830, 'retryable', true, false),
                (true, 830, 860, 'discarded', true, false),
                (true, 860, 880, 'cancelled', false, true),
                (true, 880, 900, 'cancelled', true, false),
                (true, 900, 1000, 'completed', false, false)
            ) AS v (recent, lo, hi, state, err, cancel)
            WHERE v.recent = t.recent AND t.h >= v.lo AND t.h < v.hi
        ) st
    ) s
) x;
ALTER TABLE river_job ENABLE TRIGGER USER;
`

// taskListCase is one call of the task list the benchmark measures.
type taskListCase struct {
	name   string
	owner  *int64
	filter inbox.TaskFilter
}

// BenchmarkTaskList1M measures the task list (GET /api/v1/tasks, and the
// dead letters: state failed) over a million jobs: p99 per case, in ms
// (target < 20 ms). It logs each case's plan, without statistics and after
// ANALYZE, and fails when one reads river_job sequentially or compiles
// with JIT. Run with: go test -run '^$' -bench BenchmarkTaskList1M -benchtime 1x ./internal/store/
func BenchmarkTaskList1M(b *testing.B) {
	const jobs, calls, page = 1_000_000, 200, 50
	ctx := context.Background()
	for range b.N {
		s := inboxqtest.TestSchema(b)
		st := store.New(s.Pool)

		start := time.Now()
		_, err := s.Pool.Exec(ctx, fmt.Sprintf(fillJobsSQL, jobs))
		require.NoError(b, err)
		b.Logf("filled %d jobs in %s", jobs, time.Since(start).Round(time.Millisecond))

		var minID, maxID int64
		require.NoError(b, s.Pool.QueryRow(ctx, "SELECT min(id), max(id) FROM river_job").Scan(&minID, &maxID))
		late := maxID - (maxID-minID)*7/10 // a cursor 70 % of the way back
		user := int64(17)
		cases := []taskListCase{
			{name: "user_first", owner: &user},
			{name: "user_late", owner: &user, filter: inbox.TaskFilter{AfterID: late}},
			{name: "user_failed", owner: &user, filter: inbox.TaskFilter{States: []inbox.TaskState{inbox.TaskFailed}}},
			{name: "user_running", owner: &user, filter: inbox.TaskFilter{States: []inbox.TaskState{inbox.TaskRunning}}},
			{name: "user_kind", owner: &user, filter: inbox.TaskFilter{Kinds: []string{"export"}}},
			{name: "user_queue_late", owner: &user, filter: inbox.TaskFilter{Queues: []string{"bulk"}, AfterID: late}},
			{name: "admin_first"},
			{name: "admin_late", filter: inbox.TaskFilter{AfterID: late}},
			{name: "admin_failed", filter: inbox.TaskFilter{States: []inbox.TaskState{inbox.TaskFailed}}},
			{name: "admin_failed_late", filter: inbox.TaskFilter{States: []inbox.TaskState{inbox.TaskFailed}, AfterID: late}},
			{name: "admin_pending", filter: inbox.TaskFilter{States: []inbox.TaskState{inbox.TaskPending}}},
			{name: "admin_kind", filter: inbox.TaskFilter{Kinds: []string{"export"}}},
			{name: "admin_queue_late", filter: inbox.TaskFilter{Queues: []string{"maintenance"}, AfterID: late}},
		}
		for i := range cases {
			cases[i].filter.Limit = page + 1 // as tasks.Service.List asks
		}

		explainAll(b, s.Pool, cases, "without statistics")
		_, err = s.Pool.Exec(ctx, "ANALYZE river_job; ANALYZE app_user")
		require.NoError(b, err)
		explainAll(b, s.Pool, cases, "after ANALYZE")

		b.ResetTimer()
		for _, c := range cases {
			lat := make([]time.Duration, 0, calls)
			for range calls {
				t0 := time.Now()
				got, err := st.TaskList(ctx, c.filter, c.owner)
				lat = append(lat, time.Since(t0))
				require.NoError(b, err)
				require.NotEmpty(b, got, c.name)
			}
			slices.Sort(lat)
			p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
			b.Logf("%-18s p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms", c.name, ms(p50), ms(p99), ms(lat[len(lat)-1]))
			b.ReportMetric(ms(p99), c.name+"_p99_ms")
		}
		b.StopTimer()
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// explainAll logs the plan of each case as the store runs it: the
// generated statement, unnamed (pgx.QueryExecModeExec), so planned for the
// call's values.
func explainAll(b *testing.B, pool *pgxpool.Pool, cases []taskListCase, when string) {
	b.Helper()
	ctx := context.Background()
	for _, c := range cases {
		f := c.filter
		var states, kinds, queues []string
		for _, s := range f.States {
			states = append(states, string(s))
		}
		kinds, queues = f.Kinds, f.Queues
		var after *int64
		if f.AfterID > 0 {
			after = &f.AfterID
		}
		args := []any{pgx.QueryExecModeExec, states, kinds, queues, []int64(nil), (*time.Time)(nil), (*time.Time)(nil), after, int32(f.Limit)}
		sql := generatedQuery(b, "taskList")
		if c.owner != nil {
			sql = generatedQuery(b, "taskListByOwner")
			args = slices.Insert(args, 1, any(*c.owner))
		}
		rows, err := pool.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+sql, args...)
		require.NoError(b, err)
		var plan []string
		for rows.Next() {
			var line string
			require.NoError(b, rows.Scan(&line))
			plan = append(plan, line)
		}
		require.NoError(b, rows.Err())
		text := strings.Join(plan, "\n")
		b.Logf("plan of %s (%s):\n%s", c.name, when, text)
		if strings.Contains(text, "Seq Scan on river_job") || strings.Contains(text, "JIT:") {
			b.Errorf("%s (%s): the plan reads the table or compiles", c.name, when)
		}
	}
}

// generatedQuery reads a query's text from the generated code, so the plan
// logged is the plan of the statement the store sends.
func generatedQuery(b *testing.B, name string) string {
	b.Helper()
	src, err := os.ReadFile("dbsqlc/task.sql.go")
	require.NoError(b, err)
	m := regexp.MustCompile("(?s)const " + name + " = `(.*?)`").FindSubmatch(src)
	require.NotNil(b, m, name)
	return string(m[1])
}
