// Command benchreport reads `make bench`'s output, prints the targets
// table, writes docs/benchmarks.md (-out) and, with -check, exits non-zero
// when a target is missed or a benchmark failed.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inboxq/inboxq/internal/benchreport"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("benchreport", flag.ContinueOnError)
	in := fs.String("in", "", "the go test -bench output to read")
	out := fs.String("out", "", "where to write the Markdown report (empty: none)")
	check := fs.Bool("check", false, "fail when a target is missed or a benchmark failed")
	db := fs.String("db", "postgres://127.0.0.1:5432/inboxq_test?sslmode=disable", "the database the benchmarks used, for its version and settings")
	command := fs.String("command", "make bench", "the command that made the output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" {
		return fmt.Errorf("-in is required (run make bench first)")
	}
	f, err := os.Open(*in)
	if err != nil {
		return fmt.Errorf("no benchmark output at %s (run make bench first): %w", *in, err)
	}
	defer f.Close()
	results, failed, err := benchreport.Parse(f)
	if err != nil {
		return err
	}
	if len(results) == 0 {
		return fmt.Errorf("%s holds no benchmark results", *in)
	}
	checks := benchreport.Evaluate(results)
	missed := 0
	fmt.Fprintf(stdout, "%-22s %-22s %-12s %-12s %s\n", "benchmark", "figure", "target", "measured", "")
	for _, c := range checks {
		got, mark := "not run", "NOT MEASURED"
		if c.Result != nil {
			got, mark = benchreport.Format(c.Got), "met"
			if !c.Met {
				mark = "MISSED"
			}
		}
		if mark != "met" {
			missed++
		}
		fmt.Fprintf(stdout, "%-22s %-22s %-12s %-12s %s\n", c.Bench, c.Metric, c.Op+" "+benchreport.Format(c.Want), got, mark)
	}
	for _, name := range failed {
		fmt.Fprintf(stdout, "%s FAILED\n", name)
	}
	if *out != "" {
		st, _ := f.Stat()
		when := time.Now().UTC().Format("2006-01-02 15:04 UTC")
		if st != nil {
			when = st.ModTime().UTC().Format("2006-01-02 15:04 UTC")
		}
		var b strings.Builder
		if err := benchreport.Write(&b, machine(*db), when, *command, results, failed, checks); err != nil {
			return err
		}
		if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", *out)
	}
	if *check && (missed > 0 || len(failed) > 0) {
		return fmt.Errorf("%d target(s) missed or not measured, %d benchmark(s) failed", missed, len(failed))
	}
	return nil
}

// machine reads the cores, processor, memory and PostgreSQL's version and
// the settings that shape the figures.
func machine(db string) benchreport.Machine {
	m := benchreport.Machine{Cores: fmt.Sprint(runtime.NumCPU()), CPU: "unknown processor", Memory: "unknown", Postgres: "PostgreSQL: unknown"}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.Memory = fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		return m
	}
	defer conn.Close(ctx)
	var v string
	if conn.QueryRow(ctx, "SELECT version()").Scan(&v) == nil {
		m.Postgres, _, _ = strings.Cut(v, " on ")
	}
	rows, err := conn.Query(ctx, `SELECT name, setting || coalesce(unit, ''), source FROM pg_settings
		WHERE name IN ('jit', 'shared_buffers', 'work_mem', 'max_connections', 'synchronous_commit', 'fsync',
		               'max_wal_size', 'effective_cache_size', 'random_page_cost', 'autovacuum')
		   OR source NOT IN ('default', 'override', 'client', 'session')
		ORDER BY name`)
	if err != nil {
		return m
	}
	defer rows.Close()
	for rows.Next() {
		var name, setting, source string
		if rows.Scan(&name, &setting, &source) == nil {
			m.Settings = append(m.Settings, fmt.Sprintf("%s = %s (%s)", name, setting, source))
		}
	}
	return m
}
