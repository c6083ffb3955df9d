package fakegmail

import (
	"context"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// RequestRecord is one entry of the request log.
type RequestRecord struct {
	// Time is when the request arrived, on the server clock.
	Time time.Time
	// Method and Path are the HTTP method and URL path; RawQuery the query.
	Method, Path, RawQuery string
	// Operation is the Gmail method name ("messages.get", "history.list",
	// "oauth.token", ...); empty for unknown paths.
	Operation string
	// User is the mailbox address the call acted on (lower case).
	User string
	// Units is the quota charged; 0 for calls rejected before admission.
	Units int
	// Status is the HTTP status sent.
	Status int
	// Reason is the error reason for failed calls, e.g. "notFound".
	Reason string
	// BatchIDs is the number of ids in a batchModify/batchDelete body.
	BatchIDs int
	// IDs are the message ids the call named: a batch call's ids, or the
	// one id of a call on a single message (messages.get, .modify, ...).
	// A harness counts from them the messages a client asked for twice.
	IDs []string
	// PKCE is the method ("S256" or "plain") whose code_verifier an
	// authorization code exchange proved; empty when the code had no
	// challenge or the exchange failed.
	PKCE string
}

// Query parses RawQuery.
func (r RequestRecord) Query() url.Values {
	v, _ := url.ParseQuery(r.RawQuery)
	return v
}

type requestLog struct {
	mu      sync.Mutex
	limit   int
	records []RequestRecord
	units   map[string]int64
}

func newRequestLog(limit int) *requestLog {
	return &requestLog{limit: limit, units: make(map[string]int64)}
}

func (l *requestLog) add(r RequestRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.records) >= l.limit {
		l.records = slices.Delete(l.records, 0, len(l.records)/10+1)
	}
	l.records = append(l.records, r)
	l.units[r.User] += int64(r.Units)
}

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []RequestRecord {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return slices.Clone(s.log.records)
}

// UnitsUsed returns the quota units charged to user since the last ResetLog.
func (s *Server) UnitsUsed(user string) int64 {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return s.log.units[normUser(user)]
}

// ResetLog clears the request log and the UnitsUsed counters (not the quota
// windows).
func (s *Server) ResetLog() {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	s.log.records = nil
	clear(s.log.units)
}

func normUser(user string) string { return strings.ToLower(user) }

// failRule makes the next n matching calls fail.
type failRule struct {
	pattern string
	n       int
	status  int
	reason  string
}

type throttle struct {
	n     int
	retry time.Duration
}

// faultState holds injected failures, latency, delays and the pause gate.
type faultState struct {
	mu        sync.Mutex
	rules     []*failRule
	throttled map[string]throttle
	latency   time.Duration
	delays    []Delay
	gate      chan struct{}
}

// Delay slows matching API calls down, for one mailbox or all. Before holds
// an admitted call (its quota charged) before it acts. After holds it once
// it has acted, before the response is sent: a client that gives up
// meanwhile (a worker killed, a timeout) leaves the change made without
// knowing it, as happens with Gmail when a connection drops after the
// server acted.
type Delay struct {
	// Pattern matches the operation name or "METHOD /path", as in FailNext.
	Pattern string
	// User is the mailbox address the delay applies to; empty: every one.
	User string
	// Before and After are the waits; both are cut short when the client
	// goes away.
	Before, After time.Duration
}

// AddDelay adds a delay rule. Every matching rule applies; their waits add
// up.
func (s *Server) AddDelay(d Delay) {
	d.User = normUser(d.User)
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.delays = append(s.faults.delays, d)
}

// ClearDelays removes every delay rule.
func (s *Server) ClearDelays() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.delays = nil
}

// delay sums the waits of the delay rules that match a call.
func (f *faultState) delay(op, methodPath, user string) (before, after time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range f.delays {
		if (d.User == "" || d.User == user) && (patternMatches(d.Pattern, op) || patternMatches(d.Pattern, methodPath)) {
			before += d.Before
			after += d.After
		}
	}
	return before, after
}

// FailNext makes the next n calls matching pattern fail with status and
// reason (e.g. 503 "backendError", 429 "rateLimitExceeded", 403
// "userRateLimitExceeded"; an empty reason picks Gmail's usual one). The
// pattern is matched with path.Match against the operation name
// ("messages.get", "messages.*", "oauth.token", "*") and against
// "METHOD /path" ("POST /gmail/v1/users/me/messages/batchModify").
func (s *Server) FailNext(pattern string, n, status int, reason string) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.rules = append(s.faults.rules, &failRule{pattern: pattern, n: n, status: status, reason: reason})
}

// ThrottleUser makes the next n API calls of user fail with the per-user
// rate-limit error, advertising retryAfter (at least 1s).
func (s *Server) ThrottleUser(user string, n int, retryAfter time.Duration) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.throttled[normUser(user)] = throttle{n: n, retry: retryAfter}
}

// SetLatency sets the delay added to every API call (real time, not the
// injected clock).
func (s *Server) SetLatency(d time.Duration) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.latency = d
}

// Pause holds every admitted API call (after it took its concurrency slot
// and quota) until resume is called, so tests can fill the in-flight limit
// deterministically. Calling resume more than once is harmless.
func (s *Server) Pause() (resume func()) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if s.faults.gate == nil {
		s.faults.gate = make(chan struct{})
	}
	gate := s.faults.gate
	var once sync.Once
	return func() {
		once.Do(func() {
			s.faults.mu.Lock()
			defer s.faults.mu.Unlock()
			close(gate)
			if s.faults.gate == gate {
				s.faults.gate = nil
			}
		})
	}
}

// take consumes a matching fault for the call, if any.
func (f *faultState) take(op, methodPath, user string, now time.Time) *apiError {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.rules {
		if !patternMatches(r.pattern, op) && !patternMatches(r.pattern, methodPath) {
			continue
		}
		r.n--
		if r.n <= 0 {
			f.rules = slices.Delete(f.rules, i, i+1)
		}
		e := errFromStatus(r.status, r.reason)
		if r.status == http.StatusTooManyRequests || e.domain == "usageLimits" {
			e.retryAfter = time.Second
		}
		return e
	}
	if t, ok := f.throttled[user]; ok && user != "" {
		t.n--
		if t.n <= 0 {
			delete(f.throttled, user)
		} else {
			f.throttled[user] = t
		}
		return userRateLimitError(http.StatusTooManyRequests, now, t.retry)
	}
	return nil
}

func patternMatches(pattern, s string) bool {
	if pattern == s || pattern == "*" {
		return true
	}
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

// wait applies the pause gate and the latency.
func (f *faultState) wait(ctx context.Context) error {
	f.mu.Lock()
	gate, latency := f.gate, f.latency
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return errCancelled
		}
	}
	return sleepCtx(ctx, latency)
}
