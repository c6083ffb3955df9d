package store_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/store"
)

// River's GIN index on args is gone (0034), and every owner-scoped
// statement still finds a user's tasks, exactly those the containment
// args @> {"owner_id": N} found, through indexes: auto_explain reports the
// plan of each statement the store sends, with its values, on a table of
// 20,000 jobs of 100 users in every state.
func TestOwnerScopedStatementsReadIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)

	require.Zero(t, ginIndexes(t, s, "args"), "River's GIN index on args")

	// Users 1-100 and some system jobs (no owner); every River state.
	_, err := s.Pool.Exec(ctx, `
		INSERT INTO river_job (args, kind, max_attempts, queue, priority, state, scheduled_at, attempted_at, finalized_at)
		SELECT CASE WHEN g % 97 = 0 THEN '{"message": "system"}'::jsonb
		            ELSE jsonb_build_object('owner_id', g % 100 + 1, 'message', 'm' || g) END,
		       'k' || g % 3, 5, CASE WHEN g % 4 = 0 THEN 'bulk' ELSE 'default' END, 2, st,
		       now(), CASE WHEN st <> 'available' THEN now() END,
		       CASE WHEN st IN ('completed', 'cancelled', 'discarded') THEN now() - (g % 90) * interval '1 minute' END
		FROM generate_series(1, 20000) g,
		     LATERAL (SELECT (ARRAY['available', 'running', 'pending', 'scheduled', 'retryable', 'discarded', 'cancelled',
		                            'completed', 'completed', 'completed', 'completed'])[g % 11 + 1]::river_job_state AS st) s`)
	require.NoError(t, err)
	_, err = s.Pool.Exec(ctx, `ANALYZE river_job; INSERT INTO app_user (id, name) OVERRIDING SYSTEM VALUE VALUES (7, 'seven')`)
	require.NoError(t, err)

	pool, taken := inboxqtest.ExplainedPool(t, s)
	st := store.New(pool)

	// count asks the table, through the containment, how many of the
	// scope's jobs meet cond.
	count := func(owner *int64, cond string) int64 {
		t.Helper()
		filter := `{}`
		if owner != nil {
			filter = `{"owner_id": ` + strconv.FormatInt(*owner, 10) + `}`
		}
		var n int64
		require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE args @> $1::jsonb AND `+cond, filter).Scan(&n))
		return n
	}
	user := int64(7)
	for _, scope := range []struct {
		name  string
		owner *int64
	}{{"user", &user}, {"admin", nil}} {
		t.Run(scope.name, func(t *testing.T) {
			counts, err := st.TaskCounts(ctx, scope.owner)
			require.NoError(t, err)
			var total int64
			for _, c := range counts {
				total += c.Tasks
			}
			require.Equal(t, count(scope.owner, "true"), total, "TaskCounts")

			since := time.Now().Add(-30 * time.Minute)
			active, err := st.TaskActiveOrFinishedSince(ctx, scope.owner, since, 100_000)
			require.NoError(t, err)
			require.Len(t, active, int(count(scope.owner, `(state IN ('available', 'pending', 'running', 'retryable', 'scheduled') OR finalized_at >= now() - interval '30 minutes')`)))

			points, err := st.TaskThroughput(ctx, scope.owner)
			require.NoError(t, err)
			var done int64
			for _, p := range points {
				done += p.Completed
			}
			require.Equal(t, count(scope.owner, `state = 'completed' AND finalized_at >= date_trunc('minute', now()) - interval '59 minutes'`), done, "TaskThroughput")

			queues, err := st.QueueOverview(ctx, []string{"default", "bulk"}, scope.owner)
			require.NoError(t, err)
			var running int64
			for _, q := range queues {
				running += q.Running
			}
			require.Equal(t, count(scope.owner, `state = 'running'`), running, "QueueOverview")

			plansOf := taken()
			require.NotEmpty(t, plansOf, "auto_explain reported the plans")
			if scope.owner == nil {
				return // an admin's scope is every job: reading the table is right
			}
			for _, p := range plansOf {
				require.NotContains(t, p, "Seq Scan on river_job", "a user's statement read the whole table:\n%s", p)
			}
		})
	}

	t.Run("export", func(t *testing.T) {
		n, err := st.ExportCount(ctx, user)
		require.NoError(t, err)
		require.Equal(t, count(&user, "true"), n.Tasks)
		var pages, got int
		for after := int64(0); ; pages++ {
			page, err := st.ExportTaskPage(ctx, user, after, 50)
			require.NoError(t, err)
			if len(page) == 0 {
				break
			}
			got += len(page)
			after = page[len(page)-1].ID
		}
		require.Equal(t, int(n.Tasks), got)
		require.Greater(t, pages, 1)
		for _, p := range taken() {
			require.NotContains(t, p, "Seq Scan on river_job", "an export statement read the whole table:\n%s", p)
		}
	})

	t.Run("analytics", func(t *testing.T) {
		_, err := st.AnalyticsUpdateUser(ctx, user, []string{"k1"})
		require.NoError(t, err)
		var taskPlans int
		for _, p := range taken() {
			if strings.Contains(p, "river_job") {
				taskPlans++
				require.NotContains(t, p, "Seq Scan on river_job", "an analytics statement read the whole table:\n%s", p)
			}
		}
		require.NotZero(t, taskPlans, "the rollup read the user's tasks")
	})
}

// ginIndexes counts the GIN indexes on a column of river_job in the
// schema. It reads the catalog by the table's oid: pg_indexes would
// decompile every index of the database, and one of a schema that a
// parallel test drops meanwhile fails the query.
func ginIndexes(t *testing.T, s inboxqtest.Schema, column string) int {
	t.Helper()
	var n int
	require.NoError(t, s.Pool.QueryRow(context.Background(), `
		SELECT count(*) FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_am am ON am.oid = c.relam
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
		WHERE i.indrelid = (quote_ident($1) || '.river_job')::regclass AND am.amname = 'gin' AND a.attname = $2`,
		s.Name, column).Scan(&n))
	return n
}
