package tasks_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inboxqtest"
)

// BenchmarkTriggerCost times River's own statements for a cancel (of a
// running task), a failure (River's completer recording a retryable error)
// and a retry (of a dead letter) on a river_job table of 100,000 jobs of
// 100 users, with inboxq's triggers and without them (DISABLE TRIGGER
// USER on the same table), alternating, on the server's settings as they
// are (stock: jit on). It reports each statement's median and the
// triggers' share of it.
func BenchmarkTriggerCost(b *testing.B) {
	for range b.N {
		ctx := context.Background()
		s := inboxqtest.NewStack(b, inboxqtest.StackOptions{Workers: map[string]int{}, NoRiverUI: true})
		pool := s.Schema.Pool
		var jit string
		require.NoError(b, pool.QueryRow(ctx, "SHOW jit").Scan(&jit))
		// 100,000 jobs: one in twenty running, one in twenty dead, the rest completed.
		_, err := pool.Exec(ctx, `INSERT INTO river_job (kind, args, queue, state, max_attempts, priority, attempt, attempted_at, finalized_at, errors)
			SELECT 'bench_probe', jsonb_build_object('owner_id', 1 + g % 100), 'default', st, 25, 2, 1, now(),
			       CASE WHEN st = 'running' THEN NULL ELSE now() END,
			       CASE WHEN st = 'discarded' THEN ARRAY[jsonb_build_object('attempt', 1, 'error', 'boom', 'at', now())] END
			FROM generate_series(1, 100000) g,
			     LATERAL (SELECT (CASE g % 20 WHEN 0 THEN 'discarded' WHEN 1 THEN 'running' ELSE 'completed' END)::river_job_state AS st) x`)
		require.NoError(b, err)
		_, err = pool.Exec(ctx, "ANALYZE river_job")
		require.NoError(b, err)
		ids := func(state string) []int64 {
			rows, err := pool.Query(ctx, "SELECT id FROM river_job WHERE state = $1 ORDER BY id", state)
			require.NoError(b, err)
			defer rows.Close()
			var out []int64
			for rows.Next() {
				var id int64
				require.NoError(b, rows.Scan(&id))
				out = append(out, id)
			}
			require.NoError(b, rows.Err())
			return out
		}
		running, dead := ids("running"), ids("discarded")
		exec := riverpgxv5.New(pool).GetExecutor()
		fail := func(id int64) error {
			at := time.Now().Add(time.Minute)
			_, err := exec.JobSetStateIfRunningMany(ctx, &riverdriver.JobSetStateIfRunningManyParams{
				ID: []int64{id}, Attempt: []*int{nil}, ErrData: [][]byte{[]byte(`{"attempt":1,"error":"boom","at":"2026-01-01T00:00:00Z"}`)},
				FinalizedAt: []*time.Time{nil}, MetadataDoMerge: []bool{false}, MetadataUpdates: [][]byte{nil},
				ScheduledAt: []*time.Time{&at}, State: []rivertype.JobState{rivertype.JobStateRetryable}, Schema: s.Schema.Name,
			})
			return err
		}
		ops := []struct {
			name string
			pool *[]int64
			do   func(int64) error
		}{
			{"cancel", &running, func(id int64) error { _, err := s.Client.JobCancel(ctx, id); return err }},
			{"failure", &running, fail},
			{"retry", &dead, func(id int64) error { _, err := s.Client.JobRetry(ctx, id); return err }},
		}
		const rounds, perRound = 10, 20
		with, without := map[string][]time.Duration{}, map[string][]time.Duration{}
		for r := range rounds * 2 {
			triggers := r%2 == 0
			mode := "ENABLE"
			if !triggers {
				mode = "DISABLE"
			}
			_, err := pool.Exec(ctx, "ALTER TABLE river_job "+mode+" TRIGGER USER")
			require.NoError(b, err)
			for _, op := range ops {
				for range perRound {
					id := (*op.pool)[0]
					*op.pool = (*op.pool)[1:]
					t0 := time.Now()
					require.NoError(b, op.do(id), op.name)
					d := time.Since(t0)
					if triggers {
						with[op.name] = append(with[op.name], d)
					} else {
						without[op.name] = append(without[op.name], d)
					}
				}
			}
		}
		_, err = pool.Exec(ctx, "ALTER TABLE river_job ENABLE TRIGGER USER")
		require.NoError(b, err)
		line := fmt.Sprintf("100,000 jobs, jit=%s:", jit)
		for _, op := range ops {
			w, wo := percentile(with[op.name], 50), percentile(without[op.name], 50)
			share := max(0, float64(w-wo)/float64(w))
			line += fmt.Sprintf(" %s %s (without triggers %s, triggers' share %.0f %%, p99 %s);", op.name, w, wo, share*100, percentile(with[op.name], 99))
			b.ReportMetric(ms(w), op.name+"_ms")
			b.ReportMetric(ms(wo), op.name+"_bare_ms")
			b.ReportMetric(share, op.name+"_trigger_share")
		}
		b.Log(line)
	}
}
