package benchreport

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const sample = `goos: linux
pkg: github.com/inboxq/inboxq/internal/progress
BenchmarkNoopThroughput-2   	       1	39091016071 ns/op	         1.833 cpu_ratio	      0.5468 progress_ratio	10379 river_jobs/s
--- BENCH: BenchmarkNoopThroughput-2
    bench_test.go:182: inboxq (progress reports: false): 10085 jobs/s
BenchmarkProgressToSSE-2   	       1	9 ns/op	         12.5 p99_ms
pkg: github.com/inboxq/inboxq/internal/jobs
BenchmarkBulkBatchCalls-2  	1	5 ns/op	3 batch_calls	3 target_calls
--- FAIL: BenchmarkCancelLatency
`

func TestParseAndEvaluate(t *testing.T) {
	res, failed, err := Parse(strings.NewReader(sample))
	require.NoError(t, err)
	require.Len(t, res, 3)
	require.Equal(t, "NoopThroughput", res[0].Name)
	require.Equal(t, "github.com/inboxq/inboxq/internal/progress", res[0].Package)
	require.InDelta(t, 0.5468, res[0].Metrics["progress_ratio"], 1e-9)
	require.Equal(t, []string{"ns/op", "cpu_ratio", "progress_ratio", "river_jobs/s"}, res[0].Units)
	require.Equal(t, "internal/jobs", relPackage(res[2].Package))
	require.Equal(t, []string{"BenchmarkCancelLatency"}, failed)

	byKey := map[string]Check{}
	for _, c := range Evaluate(res) {
		byKey[c.Bench+" "+c.Metric] = c
	}
	require.False(t, byKey["NoopThroughput progress_ratio"].Met, "0.55 is below 0.9")
	require.False(t, byKey["NoopThroughput cpu_ratio"].Met, "1.83 is above 1.3")
	require.True(t, byKey["ProgressToSSE p99_ms"].Met)
	require.True(t, byKey["BulkBatchCalls batch_calls"].Met, "3 calls against 3 allowed")
	require.InDelta(t, 3, byKey["BulkBatchCalls batch_calls"].Want, 0)
	require.Nil(t, byKey["CancelLatency p99_ms"].Result, "failed: not measured")

	var b strings.Builder
	require.NoError(t, Write(&b, Machine{Cores: "2"}, "now", "make bench", res, failed, Evaluate(res)))
	require.Contains(t, b.String(), "| NoopThroughput | progress_ratio:")
	require.Contains(t, b.String(), "**missed**")
	require.Contains(t, b.String(), "| 10379 river_jobs/s | **missed** |", "raw River's figure from the same run beside the ratio")
	require.Contains(t, b.String(), "go test -p 1 -run '^$' -bench '^BenchmarkBulkBatchCalls$' -benchtime 1x -count 1 ./internal/jobs")
}
