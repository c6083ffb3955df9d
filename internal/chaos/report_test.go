//go:build chaos

package chaos

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// report collects the figures of a run and writes them as Markdown, to be
// copied into docs/architecture.md.
type report struct {
	mu       sync.Mutex
	workRows [][]string
	svcRows  [][]string
	loadRows []string
	problems []string
}

func (r *report) problem(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// work adds a pair's two rows: its sync and its bulk action.
func (r *report) work(title, note string, p *pair, f workFigures) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.workRows = append(r.workRows,
		[]string{title + ", mid-sync", note, since(p.fault, p.sync.finished), since(p.fault, p.sync.resumed),
			fmt.Sprintf("%s / %s", num(f.syncExpected), num(f.syncStored)),
			fmt.Sprintf("%s fetched twice", num(f.getRepeats)), outcome(p.sync), stuckLost(p.sync)},
		[]string{title + ", mid-bulk", "", since(p.fault, p.bulk.finished), since(p.fault, p.bulk.resumed),
			fmt.Sprintf("%s / %s (store %s)", num(f.bulkTarget), num(f.bulkGmail), num(f.bulkStore)),
			fmt.Sprintf("%s ids sent twice (%d batch calls)", num(f.batchRepeatIDs), f.batchCalls), outcome(p.bulk), stuckLost(p.bulk)},
	)
}

func (r *report) service(title, ready, after, stream, seen string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.svcRows = append(r.svcRows, []string{title, ready, after, stream, seen})
}

func (r *report) load(f loadFigures, e *env) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := loadUsers * loadPerUser
	rate := func(d time.Duration) string {
		if d <= 0 {
			return "-"
		}
		return num(int(float64(f.completed)/d.Seconds())) + " tasks/s"
	}
	var split []string
	for _, name := range slices.Sorted(maps.Keys(f.perProcess)) {
		split = append(split, fmt.Sprintf("%s %s", name, num(f.perProcess[name])))
	}
	r.loadRows = append(r.loadRows,
		fmt.Sprintf("%s tasks (%d users × %d `bulk_archive_emails` that select nothing: account check, progress, result, completion alert; no Gmail call), created from 8 goroutines in %s (%s tasks/s)",
			num(n), loadUsers, loadPerUser, dur(f.createdIn), num(int(float64(n)/max(f.createdIn.Seconds(), 0.001)))),
		fmt.Sprintf("first created → last finished: %s, **%s**; the queue drained %s after the last was created", dur(f.total), rate(f.total), dur(f.drainedIn)),
		fmt.Sprintf("completed %s, unfinished %s, run more than once %s; completion alerts %s for %s tasks",
			num(f.completed), num(f.unfinished), num(f.ranTwice), num(f.alerts), num(f.alertTasks)),
		"worked by: "+strings.Join(split, ", "),
	)
}

// markdown renders the report.
func (r *report) markdown(total time.Duration) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "## Chaos run, %s (whole test %s)\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), dur(total))
	b.WriteString("Work: recovered = fault → task finished; resumed = fault → work moving past where it was; " +
		"messages = sync: in Gmail (no spam/trash) / stored; bulk: targeted / relabelled in Gmail (store).\n\n")
	table(&b, []string{"scenario", "fault", "recovered", "resumed", "messages", "Gmail calls repeated", "task", "stuck / lost"}, r.workRows)
	b.WriteString("\nService: /readyz polled every 250 ms; the user's event stream was cut with the database and reconnected every second with Last-Event-ID.\n\n")
	table(&b, []string{"scenario", "/readyz while the database was down", "200 again after it was back", "stream reconnections", "both completions on the stream"}, r.svcRows)
	if len(r.loadRows) > 0 {
		b.WriteString("\nLoad:\n\n")
		for _, l := range r.loadRows {
			b.WriteString("- " + l + "\n")
		}
	}
	b.WriteString("\nProblems: ")
	if len(r.problems) == 0 {
		b.WriteString("none.\n")
	} else {
		b.WriteString("\n\n")
		for _, p := range r.problems {
			b.WriteString("- " + strings.ReplaceAll(p, "\n", "\n  ") + "\n")
		}
	}
	return b.String()
}

func table(b *strings.Builder, head []string, rows [][]string) {
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|" + strings.Repeat("---|", len(head)) + "\n")
	for _, row := range rows {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
}

func outcome(l leg) string {
	if l.state == "" {
		return "unknown"
	}
	s := fmt.Sprintf("%s, attempt %d", l.state, l.attempts)
	if n := len(l.errors); n > 0 {
		e := l.errors[n-1]
		if len(e) > 160 {
			e = e[:160] + "…"
		}
		s += fmt.Sprintf("; %d error(s), last: %s", n, strings.ReplaceAll(e, "|", "/"))
	}
	return s
}

// stuckLost counts the leg's task as stuck (never finished) or lost (gone).
func stuckLost(l leg) string {
	switch {
	case l.state == "lost":
		return "0 / 1"
	case !l.state.Finished():
		return "1 / 0"
	}
	return "0 / 0"
}

// since formats t - from, or "never" when t is zero.
func since(from, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return dur(t.Sub(from))
}

// dur formats a duration for people: 850 ms, 12.3 s, 4 m 31 s.
func dur(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%d m %02d s", int(d.Minutes()), int(d.Seconds())%60)
}

// num formats an integer with thousands separators.
func num(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + num(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
