//go:build chaos

package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// readyProbe asks serve's /readyz four times a second for the whole run,
// as a load balancer would, and keeps every answer.
type readyProbe struct {
	url string

	mu      sync.Mutex
	samples []readySample
}

type readySample struct {
	start, end time.Time
	status     int // 0: no answer
}

func (p *readyProbe) run(ctx context.Context) {
	client := &http.Client{Timeout: 3 * time.Second}
	for ctx.Err() == nil {
		s := readySample{start: time.Now()}
		if resp, err := client.Get(p.url); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			s.status = resp.StatusCode
		}
		s.end = time.Now()
		p.mu.Lock()
		p.samples = append(p.samples, s)
		p.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// outage judges /readyz over a window in which the database was down
// (from the moment it was stopped to the moment it was started again) and
// after it came back (up: when it accepted connections again).
type outage struct {
	unready, lies int           // 503s inside the window; 200s asked and answered inside it
	readyAfter    time.Duration // up → the first 200 asked after it (-1: none)
}

func (p *readyProbe) judge(down, startIssued, up time.Time) outage {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := outage{readyAfter: -1}
	for _, s := range p.samples {
		inside := s.start.After(down) && s.end.Before(startIssued)
		switch {
		case inside && s.status == http.StatusServiceUnavailable:
			o.unready++
		case inside && s.status == http.StatusOK:
			o.lies++
		case s.start.After(up) && s.status == http.StatusOK && o.readyAfter < 0:
			o.readyAfter = s.end.Sub(up)
		}
	}
	return o
}

// latest is the status of the latest answer to a probe asked after from
// (-1: none yet).
func (p *readyProbe) latest(from time.Time) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.samples); n > 0 && p.samples[n-1].start.After(from) {
		return p.samples[n-1].status
	}
	return -1
}

// unready judges /readyz after a fault that does not stop the database:
// how many answers after from were not 200 before the first 200 that
// followed them, and when that 200 came (back: 0 when it never wavered).
func (p *readyProbe) unready(from time.Time) (n int, back time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.samples {
		switch {
		case !s.start.After(from):
		case s.status != http.StatusOK:
			n++
		case n > 0:
			return n, s.end.Sub(from)
		}
	}
	if n > 0 {
		return n, -1
	}
	return 0, 0
}

// watcher follows one user's event stream as the dashboard does: when the
// stream breaks it reconnects every second with Last-Event-ID. It records
// each connection (did the server replay, or send a snapshot?) and the
// last state each task was reported in.
type watcher struct {
	url, token string

	mu       sync.Mutex
	lastID   string
	states   map[int64]string
	sessions []session
	cancel   context.CancelFunc // ends the current connection
}

type session struct {
	at       time.Time
	lastID   string // the Last-Event-ID sent
	status   int    // 0: no answer
	snapshot bool   // the server sent a snapshot, not a replay
	events   int
}

func newWatcher(serveURL, token string) *watcher {
	return &watcher{url: serveURL + "/api/v1/events", token: token, states: map[int64]string{}}
}

func (w *watcher) run(ctx context.Context) {
	for ctx.Err() == nil {
		w.connect(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// drop breaks the current connection, as a network outage would.
func (w *watcher) drop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil {
		w.cancel()
	}
}

func (w *watcher) connect(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w.mu.Lock()
	w.cancel = cancel
	s := session{at: time.Now(), lastID: w.lastID}
	w.mu.Unlock()
	i := w.record(s)

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.url, nil)
	if err != nil {
		return
	}
	req.Header.Set("Authorization", "Bearer "+w.token)
	req.Header.Set("Accept", "text/event-stream")
	if s.lastID != "" {
		req.Header.Set("Last-Event-ID", s.lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	w.update(i, func(s *session) { s.status = resp.StatusCode })
	if resp.StatusCode != http.StatusOK {
		return
	}
	var id, name, data string
	sc := scanLines(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if name != "" {
				w.event(i, id, name, data)
			}
			id, name, data = "", "", ""
		case strings.HasPrefix(line, "id: "):
			id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
}

func (w *watcher) record(s session) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sessions = append(w.sessions, s)
	return len(w.sessions) - 1
}

func (w *watcher) update(i int, f func(*session)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f(&w.sessions[i])
}

func (w *watcher) event(i int, id, name, data string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sessions[i].events++
	if id != "" {
		w.lastID = id
	}
	switch name {
	case "snapshot_end":
		w.sessions[i].snapshot = true
	case "task":
		var te struct {
			ID    int64  `json:"id"`
			State string `json:"state"`
		}
		if json.Unmarshal([]byte(data), &te) == nil {
			w.states[te.ID] = te.State
		}
	}
}

// lastEventID is the id of the last event received.
func (w *watcher) lastEventID() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastID
}

// state is the last state the stream reported for a task.
func (w *watcher) state(id int64) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.states[id]
}

// resumes judges the reconnections after the first connection: how many
// were refused and with what, and whether those that got through with a
// Last-Event-ID were replayed (snapshot: false) as they should be.
type resumes struct {
	refused   map[int]int // status → count (0: no answer)
	replayed  int
	snapshots int
}

func (w *watcher) resumes() resumes {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := resumes{refused: map[int]int{}}
	for _, s := range w.sessions[min(1, len(w.sessions)):] {
		switch {
		case s.status != http.StatusOK:
			r.refused[s.status]++
		case s.lastID != "" && s.snapshot:
			r.snapshots++
		case s.lastID != "":
			r.replayed++
		}
	}
	return r
}

func (r resumes) String() string {
	var refused []string
	for status, n := range r.refused {
		refused = append(refused, fmt.Sprintf("%d×%d", n, status))
	}
	s := fmt.Sprintf("%d replayed, %d snapshots", r.replayed, r.snapshots)
	if len(refused) > 0 {
		s += "; refused " + strings.Join(refused, ", ")
	}
	return s
}
