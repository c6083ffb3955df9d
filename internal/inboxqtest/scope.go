package inboxqtest

import (
	"sync"
	"testing"
)

// Scope is a testing.TB whose Cleanup functions run when Close is called
// rather than at the end of the whole test: a benchmark's round builds a
// stack (schema, pools, hub, client) and tears it down before the next
// round, so that a round never measures the listeners and connections of
// the rounds before it (PostgreSQL wakes every listening backend of a
// database on each notifying commit).
type Scope struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
}

// NewScope returns a Scope of tb. Close it (it is also closed with tb).
func NewScope(tb testing.TB) *Scope {
	s := &Scope{TB: tb}
	tb.Cleanup(s.Close)
	return s
}

// Cleanup registers f to run at Close, last registered first.
func (s *Scope) Cleanup(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleanups = append(s.cleanups, f)
}

// Close runs the registered cleanups, last first; a second Close does
// nothing.
func (s *Scope) Close() {
	s.mu.Lock()
	fs := s.cleanups
	s.cleanups = nil
	s.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}
