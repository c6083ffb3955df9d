package main

import (
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inboxqtest"
)

// cutProxy forwards TCP connections to target until cut: then it closes
// every connection and refuses new ones, as an unreachable database does,
// until restored.
type cutProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { _ = ln.Close(); p.setCut(true) })
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
		go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
	}
}

func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			_ = c.Close()
		}
		clear(p.conns)
	}
}

// A worker told to stop while the database is unreachable cannot record
// how its jobs ended, and River gives up; the job stays running in the
// database. It is not left for River's rescue delay (minutes): once the
// database answers, the next process hands it back within the lease's
// dead-after (3 s here, 30 s in production) and finishes it.
func TestGracefulStopWhileTheDatabaseIsUnreachableLosesNoJob(t *testing.T) {
	t.Parallel()
	s := inboxqtest.TestSchema(t)
	id := insertSleep(t, s, time.Hour)

	u, err := url.Parse(s.URL)
	require.NoError(t, err)
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	env := append(helperEnv(t, s, "500ms"), "INBOXQ_HELPER_LEASE=1")
	for i, e := range env {
		if strings.HasPrefix(e, "DATABASE_URL=") {
			env[i] = "DATABASE_URL=" + u.String()
		}
	}

	first, out := startHelper(t, env...)
	waitState(t, s, id, "running")
	// Every part has started (River's producers start one by one, and one
	// may already run the job while another still starts): a database lost
	// during startup is a failed start, not what this test is about.
	waitOutput(t, out, "river_started", 30*time.Second)
	proxy.setCut(true)
	require.NoError(t, first.Process.Signal(syscall.SIGTERM))
	require.NoError(t, first.Wait(), "a clean exit even though the database is gone")
	state, _, _ := jobRow(t, s, id)
	require.Equal(t, "running", state, "River could not record the end: the job is orphaned\n%s", out)

	proxy.setCut(false)
	began := time.Now()
	next, _ := startHelper(t, append(env, "INBOXQ_HELPER_NO_SLEEP=1")...)
	require.Eventually(t, func() bool {
		state, _, _ := jobRow(t, s, id)
		return state == "completed"
	}, 2*time.Minute, 20*time.Millisecond, "the orphaned job was never handed back")
	t.Logf("orphaned job handed back and finished %s after the database came back", time.Since(began).Round(100*time.Millisecond))
	require.NoError(t, next.Process.Signal(syscall.SIGTERM))
	require.NoError(t, next.Wait())
}
