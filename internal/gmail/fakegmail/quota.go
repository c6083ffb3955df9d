package fakegmail

import (
	"net/http"
	"sort"
	"sync"
	"time"
)

// window is a sliding one-minute window of quota units in one-second
// buckets: units charged in second s count until second s+60.
type window struct {
	secs  [60]int64
	units [60]int
}

func (w *window) used(nowSec int64) int {
	total := 0
	for i := range w.secs {
		if w.units[i] > 0 && w.secs[i] > nowSec-60 && w.secs[i] <= nowSec {
			total += w.units[i]
		}
	}
	return total
}

func (w *window) add(nowSec int64, n int) {
	i := int(((nowSec % 60) + 60) % 60)
	if w.secs[i] != nowSec {
		w.secs[i], w.units[i] = nowSec, 0
	}
	w.units[i] += n
}

// wait returns how long until cost more units fit under limit.
func (w *window) wait(now time.Time, cost, limit int) time.Duration {
	nowSec := now.Unix()
	type bucket struct {
		sec   int64
		units int
	}
	var live []bucket
	used := 0
	for i := range w.secs {
		if w.units[i] > 0 && w.secs[i] > nowSec-60 && w.secs[i] <= nowSec {
			live = append(live, bucket{w.secs[i], w.units[i]})
			used += w.units[i]
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].sec < live[j].sec })
	for _, b := range live {
		used -= b.units
		if used+cost <= limit {
			return time.Unix(b.sec+60, 0).Sub(now)
		}
	}
	return time.Minute
}

// quotaState enforces the per-user and per-project unit windows and the
// per-user concurrent-request limit.
type quotaState struct {
	mu           sync.Mutex
	userLimit    int
	projectLimit int
	rateStatus   int
	maxInflight  int
	project      window
	users        map[string]*window
	inflight     map[string]int
}

func newQuotaState(opts Options) *quotaState {
	return &quotaState{
		userLimit:    opts.UserUnitsPerMinute,
		projectLimit: opts.ProjectUnitsPerMinute,
		rateStatus:   opts.UserRateLimitStatus,
		maxInflight:  opts.MaxConcurrentPerUser,
		users:        make(map[string]*window),
		inflight:     make(map[string]int),
	}
}

// enter takes one of the user's concurrent-request slots.
func (q *quotaState) enter(user string) (release func(), err *apiError) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.maxInflight > 0 && q.inflight[user] >= q.maxInflight {
		return nil, newAPIError(http.StatusTooManyRequests, "rateLimitExceeded", "Too many concurrent requests for user.")
	}
	q.inflight[user]++
	var once sync.Once
	return func() {
		once.Do(func() {
			q.mu.Lock()
			defer q.mu.Unlock()
			q.inflight[user]--
		})
	}, nil
}

// charge admits cost units for user or returns the rate-limit error.
func (q *quotaState) charge(user string, cost int, now time.Time) *apiError {
	q.mu.Lock()
	defer q.mu.Unlock()
	sec := now.Unix()
	if q.projectLimit > 0 && q.project.used(sec)+cost > q.projectLimit {
		wait := q.project.wait(now, cost, q.projectLimit)
		e := newAPIError(http.StatusTooManyRequests, "rateLimitExceeded",
			"Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'gmail.googleapis.com' for consumer 'project_number:000000000000'.")
		e.retryAfter = wait
		return e
	}
	w := q.users[user]
	if w == nil {
		w = &window{}
		q.users[user] = w
	}
	if q.userLimit > 0 && w.used(sec)+cost > q.userLimit {
		return userRateLimitError(q.rateStatus, now, w.wait(now, cost, q.userLimit))
	}
	q.project.add(sec, cost)
	w.add(sec, cost)
	return nil
}

// userRateLimitError is Gmail's per-user rate-limit error with the retry
// time both in the message and in Retry-After.
func userRateLimitError(status int, now time.Time, wait time.Duration) *apiError {
	if wait < time.Second {
		wait = time.Second
	}
	at := now.Add(wait).UTC().Format("2006-01-02T15:04:05.000Z07:00")
	e := newAPIError(status, "userRateLimitExceeded", "User-rate limit exceeded.  Retry after "+at)
	e.retryAfter = wait
	return e
}

// UnitsInWindow returns the units user has spent in the current one-minute
// quota window.
func (s *Server) UnitsInWindow(user string) int {
	s.quota.mu.Lock()
	defer s.quota.mu.Unlock()
	w := s.quota.users[normUser(user)]
	if w == nil {
		return 0
	}
	return w.used(s.now().Unix())
}

// InFlight returns the number of user's requests currently being served.
func (s *Server) InFlight(user string) int {
	s.quota.mu.Lock()
	defer s.quota.mu.Unlock()
	return s.quota.inflight[normUser(user)]
}
