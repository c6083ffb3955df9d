package jobs

import (
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// RetryPolicy spaces out retries exponentially, with jitter, up to a cap:
//
//	delay(n) = min(Cap, Base · 2^(n−1)) · U(0.75, 1.25)
//
// where n is the number of the failed attempt (1 for the first failure) and
// U a uniform random factor, so retries of many jobs that failed together
// spread out instead of arriving as a herd. With Base 2 s and Cap 1 h:
// about 2 s, 4 s, 8 s, 16 s, … 34 min, then 1 h (±25 %) for every later
// retry. Rate-limited work does not come through here: it snoozes
// (river.JobSnooze) without spending an attempt.
type RetryPolicy struct {
	Base time.Duration
	Cap  time.Duration
}

// DefaultRetryPolicy returns inboxq's policy: base 2 s, cap 1 h.
func DefaultRetryPolicy() RetryPolicy { return RetryPolicy{Base: 2 * time.Second, Cap: time.Hour} }

// Delay is the wait before retrying after failed attempt n (n ≥ 1), before jitter.
func (p RetryPolicy) Delay(n int) time.Duration {
	d := p.Base
	for i := 1; i < n && d < p.Cap; i++ {
		d *= 2
	}
	return min(d, p.Cap)
}

// NextRetry implements river.ClientRetryPolicy.
func (p RetryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	n := len(job.Errors) + 1
	jitter := 0.75 + rand.Float64()/2
	return time.Now().Add(time.Duration(float64(p.Delay(n)) * jitter))
}
