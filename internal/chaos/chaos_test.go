//go:build chaos

package chaos

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
)

// Bounds on waits: generous, since the machine is small and shared. They
// catch what never recovers, never what recovers slowly.
const (
	// A killed worker's jobs wait for River's rescuer (jobs.RescueDelay,
	// 4 m 30 s, checked every 30 s), while the other scenarios restart and
	// stop PostgreSQL around it.
	killBound = 9 * time.Minute
	// Everything else should recover without the rescuer.
	bound        = 6 * time.Minute
	presyncBound = 3 * time.Minute
	outageLength = 60 * time.Second
)

// TestChaos runs the scenarios in one world, in an order that lets the
// longest wait (a killed worker's jobs, handed on by River's rescuer)
// overlap the rest: the kill first, on a worker that runs alone, then the
// SIGTERM on another worker alone, then serve and two workers for the
// database faults and the load, while the killed worker's jobs wait.
func TestChaos(t *testing.T) {
	began := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	if d, ok := t.Deadline(); ok {
		ctx, cancel = context.WithDeadline(context.Background(), d.Add(-time.Minute)) // leave time to clean up
	}
	defer cancel()
	e := newEnv(t)
	rep := e.rep

	var kill, term, conn, restart, down *pair
	for i, sp := range []struct {
		name string
		p    **pair
	}{{"kill", &kill}, {"term", &term}, {"conn", &conn}, {"restart", &restart}, {"down", &down}} {
		p, err := e.newPair(ctx, sp.name, int64(10*(i+1)))
		require.NoError(t, err)
		*sp.p = p
	}
	loaders, err := e.loadUsers(ctx)
	require.NoError(t, err)

	// kill -9 mid-sync and mid-bulk: worker-1 runs alone, so the work is its.
	w1 := e.startInboxq("worker-1", "worker")
	e.presyncAndWait(ctx, kill)
	require.NoError(t, e.start(ctx, kill))
	require.NoError(t, e.waitMidway(ctx, kill))
	require.NoError(t, w1.signal(syscall.SIGKILL))
	_ = w1.wait(30 * time.Second)
	killDone := make(chan struct{})
	go func() { defer close(killDone); e.await(ctx, kill, killBound) }()

	// SIGTERM during work: worker-2 runs alone and must finish or hand
	// back its jobs as it stops (shutdown timeout 1 s: it hands them back).
	w2 := e.startInboxq("worker-2", "worker", "INBOXQ_SHUTDOWN_TIMEOUT=1s")
	e.presyncAndWait(ctx, term)
	require.NoError(t, e.start(ctx, term))
	require.NoError(t, e.waitMidway(ctx, term))
	require.NoError(t, w2.signal(syscall.SIGTERM))
	termNote := e.handedBack(ctx, term, w2)

	// The service: serve (the API, one worker per queue) and two workers,
	// which take over worker-2's jobs.
	serveURL := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	serve := e.startInboxq("serve", "serve", "INBOXQ_ADDR="+serveURL[len("http://"):],
		"INBOXQ_WORKERS_SYNC=1", "INBOXQ_WORKERS_BULK=1", "INBOXQ_WORKERS_CLASSIFY=1", "INBOXQ_WORKERS_MAINTENANCE=1", "INBOXQ_WORKERS_DEFAULT=1")
	w3 := e.startInboxq("worker-3", "worker", "INBOXQ_WORKERS_BULK=16")
	w4 := e.startInboxq("worker-4", "worker", "INBOXQ_WORKERS_BULK=16")
	require.NoError(t, waitUntil(ctx, time.Minute, 100*time.Millisecond, func() (bool, error) {
		resp, err := http.Get(serveURL + "/readyz")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	}), "serve never became ready:\n%s", serve.tail(30))
	probe := &readyProbe{url: serveURL + "/readyz"}
	go probe.run(ctx)
	// Users' dashboards, open through every fault from here on.
	killWatch, termWatch := newWatcher(serveURL, kill.token), newWatcher(serveURL, term.token)
	go killWatch.run(ctx)
	go termWatch.run(ctx)

	var presyncs []int64
	for _, p := range []*pair{conn, restart, down} {
		id, err := e.presync(ctx, p)
		require.NoError(t, err)
		presyncs = append(presyncs, id)
	}
	e.await(ctx, term, bound)
	for _, l := range []*leg{&term.sync, &term.bulk} {
		if n := len(l.errors); n > 0 {
			term.problem("task %d spent an attempt on the worker's stop: %s", l.task, l.errors[n-1])
		}
	}
	require.NoError(t, e.waitFinished(ctx, presyncs, presyncBound), "presyncs")

	// Every inboxq connection terminated.
	e.dbScenario(ctx, conn, probe, serveURL, func() (faultTimes, error) {
		var n int
		err := e.st.Pool().QueryRow(ctx, `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name <> $1) t`, harnessApp).Scan(&n)
		now := time.Now()
		return faultTimes{down: now, startIssued: now, up: now, note: fmt.Sprintf("%d connections terminated", n)}, err
	})
	// PostgreSQL restarted, as after a crash (pg_ctl restart -m immediate,
	// in two steps so that the outage's bounds are known).
	e.dbScenario(ctx, restart, probe, serveURL, func() (faultTimes, error) {
		var ft faultTimes
		if err := e.pg.stop("immediate"); err != nil {
			return ft, err
		}
		ft.down, ft.startIssued = time.Now(), time.Now()
		err := e.pg.start()
		ft.up = time.Now()
		ft.note = fmt.Sprintf("down %s", dur(ft.up.Sub(ft.down)))
		return ft, err
	})
	// PostgreSQL down for a minute.
	e.dbScenario(ctx, down, probe, serveURL, func() (faultTimes, error) {
		var ft faultTimes
		if err := e.pg.stop("fast"); err != nil {
			return ft, err
		}
		ft.down = time.Now()
		time.Sleep(outageLength)
		ft.startIssued = time.Now()
		err := e.pg.start()
		ft.up = time.Now()
		ft.note = fmt.Sprintf("down %s", dur(ft.up.Sub(ft.down)))
		return ft, err
	})

	// 10,000 tasks through two workers (and serve's one).
	lf := e.load(ctx, loaders, bound)

	// The killed worker's jobs.
	<-killDone
	for _, s := range []struct {
		p     *pair
		title string
		note  string
		watch *watcher
	}{
		{kill, "kill -9 of a worker", fmt.Sprintf("worker-1 killed at %d messages stored, %d of %d relabelled", kill.sync.atFault, kill.bulk.atFault, len(kill.target)), killWatch},
		{term, "SIGTERM of a worker", termNote, termWatch},
	} {
		f := e.verify(ctx, s.p)
		seen := "yes"
		if err := waitUntil(ctx, 30*time.Second, 100*time.Millisecond, func() (bool, error) {
			return s.watch.state(s.p.sync.task) == string(inbox.TaskCompleted) && s.watch.state(s.p.bulk.task) == string(inbox.TaskCompleted), nil
		}); err != nil {
			seen = "no"
			s.p.problem("the dashboard's event stream, open since serve started, never said both tasks completed (sync %q, bulk %q)",
				s.watch.state(s.p.sync.task), s.watch.state(s.p.bulk.task))
		}
		rep.work(s.title, s.note, s.p, f)
		rep.service(s.title, "-", "-", s.watch.resumes().String(), seen)
	}
	rep.load(lf, e)

	// Nothing died on its own, and everything still stops cleanly.
	for _, p := range []*proc{serve, w3, w4} {
		if p.exitedOnItsOwn() {
			rep.problem("%s exited by itself (%v):\n%s", p.name, p.err, p.tail(20))
		}
	}
	for _, p := range []*proc{serve, w3, w4} {
		if err := p.signal(syscall.SIGTERM); err == nil {
			if err := p.wait(time.Minute); err != nil {
				rep.problem("%s did not stop cleanly on SIGTERM: %v\n%s", p.name, err, p.tail(20))
			}
		}
	}
	cancel()

	rep.problems = append(rep.problems, lf.problems...)
	for _, p := range []*pair{kill, term, conn, restart, down} {
		for _, pr := range p.problems {
			rep.problem("%s: %s", p.name, pr)
		}
	}
	out := rep.markdown(time.Since(began))
	fmt.Print("\n" + out)
	path := os.Getenv("CHAOS_REPORT")
	if path == "" {
		path = filepath.Join(e.root, "chaos.md")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
		_ = os.WriteFile(path, []byte(out), 0o644)
	}
	for _, pr := range rep.problems {
		t.Error(pr)
	}
}

// presyncAndWait syncs a pair's bulk mailbox into the store.
func (e *env) presyncAndWait(ctx context.Context, p *pair) {
	e.t.Helper()
	id, err := e.presync(ctx, p)
	require.NoError(e.t, err)
	require.NoError(e.t, e.waitFinished(ctx, []int64{id}, presyncBound), "presync of %s", p.bulkBox)
}

// waitFinished waits until the tasks completed; a task that ends otherwise
// is an error.
func (e *env) waitFinished(ctx context.Context, ids []int64, timeout time.Duration) error {
	return waitUntil(ctx, timeout, 100*time.Millisecond, func() (bool, error) {
		for _, id := range ids {
			t, err := e.st.TaskGet(ctx, id, nil)
			if err != nil {
				return false, err
			}
			if t.State.Finished() && t.State != inbox.TaskCompleted {
				return false, fmt.Errorf("task %d ended %s: %v", id, t.State, t.Errors)
			}
			if !t.State.Finished() {
				return false, nil
			}
		}
		return true, nil
	})
}

// handedBack waits for a SIGTERMed worker to exit and checks that it left
// no job running: each is finished or back in the queue for another.
func (e *env) handedBack(ctx context.Context, p *pair, w *proc) string {
	if err := w.wait(time.Minute); err != nil {
		p.problem("%s did not exit cleanly after SIGTERM: %v\n%s", w.name, err, w.tail(20))
	}
	exited := time.Since(p.fault)
	states := []string{"?", "?"}
	for i, l := range []*leg{&p.sync, &p.bulk} {
		t, err := e.st.TaskGet(ctx, l.task, nil)
		if err != nil {
			p.problem("reading task %d: %v", l.task, err)
			continue
		}
		states[i] = string(t.State)
		if t.State == inbox.TaskRunning || t.State == inbox.TaskCancelling {
			p.problem("task %d is still %s after its worker stopped: orphaned until River's rescuer", l.task, t.State)
		}
	}
	return fmt.Sprintf("worker-2 stopped %s after SIGTERM; sync %s, bulk %s", dur(exited), states[0], states[1])
}

// faultTimes bound a database outage: stopped at down, start issued at
// startIssued, accepting connections again at up.
type faultTimes struct {
	down, startIssued, up time.Time
	note                  string
}

// dbScenario runs a pair's sync and bulk action, with the user's dashboard
// stream open, strikes the database mid-way, and checks that the work
// completes, /readyz told the truth, and the stream resumed by replay and
// reported both completions.
func (e *env) dbScenario(ctx context.Context, p *pair, probe *readyProbe, serveURL string, strike func() (faultTimes, error)) {
	t := e.t
	t.Helper()
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	w := newWatcher(serveURL, p.token)
	go w.run(wctx)
	require.NoError(t, e.start(ctx, p))
	require.NoError(t, e.waitMidway(ctx, p))
	require.NoError(t, waitUntil(ctx, time.Minute, 50*time.Millisecond, func() (bool, error) { return w.lastEventID() != "", nil }),
		"the event stream sent no event")
	w.drop() // the dashboard's connection breaks with the database
	ft, err := strike()
	require.NoError(t, err, "%s: striking the database", p.name)
	e.await(ctx, p, bound)
	f := e.verify(ctx, p)
	seen := "yes"
	if err := waitUntil(ctx, 30*time.Second, 100*time.Millisecond, func() (bool, error) {
		return w.state(p.sync.task) == string(inbox.TaskCompleted) && w.state(p.bulk.task) == string(inbox.TaskCompleted), nil
	}); err != nil {
		seen = "no"
		p.problem("the event stream never said both tasks completed (sync %q, bulk %q)", w.state(p.sync.task), w.state(p.bulk.task))
	}
	for _, l := range []*leg{&p.sync, &p.bulk} {
		if n := len(l.errors); n > 0 {
			p.problem("task %d spent an attempt on the outage: %s", l.task, l.errors[n-1])
		}
	}
	// Judge /readyz once it says ready again (or 3 minutes have passed).
	_ = waitUntil(ctx, time.Until(ft.up.Add(3*time.Minute)), 250*time.Millisecond, func() (bool, error) {
		return probe.latest(ft.up) == http.StatusOK, nil
	})
	r := w.resumes()
	for status, n := range r.refused {
		if status != http.StatusServiceUnavailable {
			p.problem("the event stream's reconnection was answered %d (%d times); during an outage it must be 503", status, n)
		}
	}
	if r.snapshots > 0 || r.replayed == 0 {
		p.problem("the event stream did not resume by replay after the outage: %s", r)
	}

	title := map[string]string{"conn": "every connection terminated", "restart": "PostgreSQL restarted (immediate)", "down": "PostgreSQL down 60 s"}[p.name]
	ready, after := "-", "-"
	if ft.startIssued.After(ft.down) {
		o := probe.judge(ft.down, ft.startIssued, ft.up)
		ready = fmt.Sprintf("%d × 503, %d × 200", o.unready, o.lies)
		if o.lies > 0 {
			p.problem("/readyz answered 200 %d times while the database was down", o.lies)
		}
		if ft.startIssued.Sub(ft.down) > 5*time.Second && o.unready == 0 {
			p.problem("/readyz never answered 503 during a %s outage", dur(ft.startIssued.Sub(ft.down)))
		}
		if o.readyAfter < 0 || o.readyAfter > 3*time.Minute {
			p.problem("/readyz did not answer 200 within 3 minutes of the database's return")
		} else {
			after = dur(o.readyAfter)
		}
	} else {
		n, back := probe.unready(ft.down)
		ready = fmt.Sprintf("(not down) %d × 503", n)
		switch {
		case back < 0 || back > 3*time.Minute:
			p.problem("/readyz did not answer 200 again within 3 minutes of the fault")
		case n > 0:
			after = dur(back) + " after the fault"
		}
	}
	e.rep.work(title, ft.note, p, f)
	e.rep.service(title, ready, after, r.String(), seen)
}
