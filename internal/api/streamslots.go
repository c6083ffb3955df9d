package api

import (
	"fmt"
	"sync"
	"time"

	"github.com/inboxq/inboxq/internal/inbox"
)

// streamSlots counts each user's open event streams in this process. Every
// stream holds a subscription, a goroutine, buffers and, on connect, a
// snapshot read: without a cap one user's thousand streams starved the
// others. Admins are capped too: a dashboard needs two streams, a script a
// few more, and no one needs a thousand.
type streamSlots struct {
	max  int
	mu   sync.Mutex
	open map[int64]int
}

func newStreamSlots(max int) *streamSlots {
	return &streamSlots{max: max, open: map[int64]int{}}
}

// streamsRetryAfter is the Retry-After of a refused stream: long enough
// for a tab being closed to free its slot.
const streamsRetryAfter = 5 * time.Second

// acquire takes one of the user's slots; release gives it back (call it
// exactly once). It fails with an inbox.LimitError when the user has none left.
func (l *streamSlots) acquire(user int64) (release func(), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[user] >= l.max {
		return nil, &inbox.LimitError{
			Msg:        fmt.Sprintf("too many open event streams: at most %d per user; close one (or reuse one stream) and retry", l.max),
			RetryAfter: streamsRetryAfter,
		}
	}
	l.open[user]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.open[user]--; l.open[user] <= 0 {
				delete(l.open, user)
			}
		})
	}, nil
}
