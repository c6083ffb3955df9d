// Package benchreport turns the output of `make bench` (go test -bench,
// one package at a time) into docs/benchmarks.md: every figure each
// benchmark reported, the targets it is held to, the machine it ran on,
// and how to rerun one benchmark alone; and it checks the targets.
package benchreport

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Result is one benchmark's line: its name (without the -N suffix of
// GOMAXPROCS), package and reported metrics by unit.
type Result struct {
	Name    string
	Package string
	Metrics map[string]float64
	Units   []string // in the order reported
}

// Parse reads go test -bench output. Lines it does not know are skipped;
// a benchmark that failed has no result line and is listed in failed.
func Parse(r io.Reader) (results []Result, failed []string, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	pkg := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimPrefix(line, "pkg: ")
		case strings.HasPrefix(line, "--- FAIL: Benchmark"):
			failed = append(failed, strings.Fields(line)[2])
		case strings.HasPrefix(line, "Benchmark"):
			f := strings.Fields(line)
			// name, iterations, then value-unit pairs.
			if len(f) < 4 || len(f)%2 != 0 {
				continue
			}
			if _, err := strconv.Atoi(f[1]); err != nil {
				continue
			}
			name := f[0]
			if i := strings.LastIndexByte(name, '-'); i > 0 {
				if _, err := strconv.Atoi(name[i+1:]); err == nil {
					name = name[:i]
				}
			}
			res := Result{Name: strings.TrimPrefix(name, "Benchmark"), Package: pkg, Metrics: map[string]float64{}}
			for i := 2; i+1 < len(f); i += 2 {
				v, err := strconv.ParseFloat(f[i], 64)
				if err != nil {
					continue
				}
				res.Metrics[f[i+1]] = v
				res.Units = append(res.Units, f[i+1])
			}
			results = append(results, res)
		}
	}
	return results, failed, sc.Err()
}

// Target is a figure a benchmark is held to: Metric Op Value, or Metric Op
// the result's own Ref metric.
type Target struct {
	Bench, Metric string
	Op            string // ">=", "<=", "<"
	Value         float64
	Ref           string
	What          string
	// Baseline names the result's metric that is raw River's figure from
	// the same run (same settings, paired rounds), shown beside inboxq's.
	Baseline string
}

// Targets are DESIGN.md's and the issues' targets, by benchmark.
var Targets = []Target{
	{Bench: "NoopThroughput", Metric: "progress_ratio", Op: ">=", Value: 0.9, What: "no-op jobs with progress reported once and events delivered, inserts timed, vs raw River (jobs/s)", Baseline: "river_jobs/s"},
	{Bench: "NoopThroughput", Metric: "cpu_ratio", Op: "<=", Value: 1.3, What: "CPU per no-op job with progress (process + PostgreSQL) vs raw River", Baseline: "river_cpu_us/job"},
	{Bench: "ProgressToSSE", Metric: "p99_ms", Op: "<", Value: 25, What: "progress report → SSE event read, 1,000 clients"},
	{Bench: "PickupLatency", Metric: "p99_ms", Op: "<=", Value: 10, What: "committed task → worker started, idle queue", Baseline: "river_p99_ms"},
	{Bench: "CancelLatency", Metric: "p99_ms", Op: "<", Value: 50, What: "cancel request → worker context cancelled"},
	{Bench: "WorkflowGroup", Metric: "ratio", Op: "<=", Value: 1.3, What: "1,000-step group + callback vs the same plain River jobs", Baseline: "plain_ns/op"},
	{Bench: "WorkflowGroup", Metric: "callback_p99_ms", Op: "<=", Value: 20, What: "callback delay after the last step"},
	{Bench: "SyncQuotaEfficiency", Metric: "quota_efficiency", Op: ">=", Value: 0.9, What: "full sync's use of the per-user Gmail quota"},
	{Bench: "SyncQuotaEfficiency", Metric: "rate_limit_errors", Op: "<=", Value: 0, What: "Gmail 429s during the sync"},
	{Bench: "SyncMemory100k", Metric: "worker_peak_rss_MB", Op: "<", Value: 200, What: "worker peak RSS syncing 100k messages"},
	{Bench: "BulkBatchCalls", Metric: "batch_calls", Op: "<=", Ref: "target_calls", What: "Gmail batch calls for a bulk action of N messages (⌈N/1000⌉)"},
	{Bench: "Classify/snippet", Metric: "msgs/s", Op: ">=", Value: 50_000, What: "classifier alone, snippet-sized messages"},
	{Bench: "ClassifyTask100k", Metric: "messages/s", Op: ">=", Value: 5_000, What: "classification task end to end"},
	{Bench: "ClusterTask100k", Metric: "task_s", Op: "<=", Value: 60, What: "clustering 100k messages"},
	{Bench: "ClusterTask100k", Metric: "worker_peak_rss_MB", Op: "<=", Value: 500, What: "clustering 100k messages, worker peak RSS"},
	// The sync's memory bound (DESIGN.md: flat as the mailbox grows) for the
	// other tasks that read a whole mailbox.
	{Bench: "ReputationTask100k", Metric: "worker_peak_rss_MB", Op: "<", Value: 200, What: "scoring the senders of 100k messages, worker peak RSS"},
	{Bench: "ExportTask100k", Metric: "worker_peak_rss_MB", Op: "<", Value: 200, What: "exporting 100k messages, worker peak RSS"},
}

// Check is a target against its result.
type Check struct {
	Target
	Result *Result // nil: the benchmark did not run or report the metric
	Got    float64
	Want   float64
	Met    bool
}

// Evaluate checks every target against the results.
func Evaluate(results []Result) []Check {
	var out []Check
	for _, t := range Targets {
		c := Check{Target: t, Want: t.Value}
		for i := range results {
			r := &results[i]
			v, ok := r.Metrics[t.Metric]
			if r.Name != t.Bench || !ok {
				continue
			}
			c.Result, c.Got = r, v
			if t.Ref != "" {
				c.Want = r.Metrics[t.Ref]
			}
			switch t.Op {
			case ">=":
				c.Met = v >= c.Want
			case "<=":
				c.Met = v <= c.Want
			case "<":
				c.Met = v < c.Want
			}
		}
		out = append(out, c)
	}
	return out
}

// Format renders a figure with three significant digits.
func Format(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// Machine describes where the benchmarks ran.
type Machine struct {
	Cores, CPU, Memory, Postgres string
	Settings                     []string // name = value (source)
}

// Write renders docs/benchmarks.md.
func Write(w io.Writer, m Machine, when, command string, results []Result, failed []string, checks []Check) error {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Written by `make bench` (`internal/benchreport`) from the run of " + when + "; do not edit by hand.\n")
	b.WriteString("Every figure comes from the same run. Where inboxq has a peer (raw River), the peer runs in the same benchmark,\n")
	b.WriteString("alternating with inboxq in paired rounds with the same settings, and the figure is the median of the rounds' ratios.\n")
	b.WriteString("`make bench-check` fails when a target below is missed.\n\n")
	b.WriteString("## Machine\n\n")
	fmt.Fprintf(&b, "- %s cores (%s), %s memory\n- %s\n", m.Cores, m.CPU, m.Memory, m.Postgres)
	b.WriteString("- PostgreSQL settings: " + strings.Join(m.Settings, "; ") + "\n\n")
	b.WriteString("## Targets\n\n| benchmark | figure | target | measured | raw River, same run | |\n|---|---|---|---|---|---|\n")
	for _, c := range checks {
		got, mark := "not run", "**not measured**"
		if c.Result != nil {
			got, mark = Format(c.Got), "met"
			if !c.Met {
				mark = "**missed**"
			}
		}
		want := c.Op + " " + Format(c.Want)
		if c.Ref != "" {
			want = c.Op + " " + c.Ref
			if c.Result != nil {
				want += " (" + Format(c.Want) + ")"
			}
		}
		base := ""
		if c.Baseline != "" && c.Result != nil {
			if v, ok := c.Result.Metrics[c.Baseline]; ok {
				base = Format(v) + " " + c.Baseline
			}
		}
		fmt.Fprintf(&b, "| %s | %s: %s | %s | %s | %s | %s |\n", c.Bench, c.Metric, c.What, want, got, base, mark)
	}
	b.WriteString("\n## Every figure\n\n| benchmark | figures |\n|---|---|\n")
	for _, r := range results {
		var parts []string
		for _, u := range r.Units {
			parts = append(parts, Format(r.Metrics[u])+" "+u)
		}
		fmt.Fprintf(&b, "| %s | %s |\n", r.Name, strings.Join(parts, ", "))
	}
	for _, f := range failed {
		fmt.Fprintf(&b, "| %s | **failed** (see the run's output) |\n", strings.TrimPrefix(f, "Benchmark"))
	}
	b.WriteString("\n## Rerun\n\nThe whole run: `" + command + "`. One benchmark alone (its package only, one at a time):\n\n```\n")
	seen := map[string]bool{}
	for _, r := range results {
		top := strings.SplitN(r.Name, "/", 2)[0]
		if seen[top] {
			continue
		}
		seen[top] = true
		fmt.Fprintf(&b, "go test -p 1 -run '^$' -bench '^Benchmark%s$' -benchtime 1x -count 1 ./%s\n", top, relPackage(r.Package))
	}
	b.WriteString("```\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func relPackage(pkg string) string {
	const module = "github.com/inboxq/inboxq/"
	return strings.TrimPrefix(pkg, module)
}
