package llm

import (
	"context"
	"strconv"
	"time"

	"github.com/inboxq/inboxq/internal/store"
)

// Bucket names, in gmail_quota beside Gmail's. They are the deployment's,
// not a process's: every process takes from the same rows.
const (
	bucketRequests = "llm:requests"
	bucketTokens   = "llm:tokens"
)

func bucketUser(userID int64) string { return "llm:user:" + strconv.FormatInt(userID, 10) + ":tokens" }

// limiter takes a request's share of the three budgets, all or none, in
// one statement (store.QuotaTakeEach), waiting in place up to maxWait.
type limiter struct {
	st                        *store.Store
	requests, tokens, perUser store.QuotaBucket // perUser's Name is set per call
	maxWait                   time.Duration
}

func newLimiter(st *store.Store, cfg Config) *limiter {
	perMinute := func(name string, n int) store.QuotaBucket {
		return store.QuotaBucket{Name: name, Rate: float64(n) / 60, Burst: float64(n)}
	}
	return &limiter{
		st:       st,
		requests: perMinute(bucketRequests, cfg.RequestsPerMinute),
		tokens:   perMinute(bucketTokens, cfg.TokensPerMinute),
		perUser:  store.QuotaBucket{Rate: float64(cfg.UserTokensPerDay) / 86400, Burst: float64(cfg.UserTokensPerDay)},
		maxWait:  cfg.MaxWait,
	}
}

// grant is what one request took; settle corrects it once the real cost
// is known.
type grant struct {
	tokens, user store.QuotaClaim
}

// take takes one request and the estimated tokens from the deployment's
// buckets and the user's. A wait of up to maxWait (in all) is slept here;
// a longer one returns *RateLimitedError. An estimate larger than a
// bucket's burst takes the whole burst (it could never fit otherwise);
// settle charges the rest.
func (l *limiter) take(ctx context.Context, userID int64, estimate float64) (grant, error) {
	user := l.perUser
	user.Name = bucketUser(userID)
	g := grant{
		tokens: store.QuotaClaim{QuotaBucket: l.tokens, Units: min(estimate, l.tokens.Burst)},
		user:   store.QuotaClaim{QuotaBucket: user, Units: min(estimate, user.Burst)},
	}
	waited := time.Duration(0)
	for {
		wait, bucket, err := l.st.QuotaTakeEach(ctx, store.QuotaClaim{QuotaBucket: l.requests, Units: 1}, g.tokens, g.user)
		if err != nil {
			return grant{}, err
		}
		if wait == 0 {
			return g, nil
		}
		if waited+wait > l.maxWait {
			return grant{}, &RateLimitedError{RetryAt: time.Now().Add(wait), Bucket: bucket}
		}
		if err := sleep(ctx, wait); err != nil {
			return grant{}, err
		}
		waited += wait
	}
}

// settle charges the difference between the tokens a request really cost
// and what take took (a refund when it cost less), so the budgets follow
// what the endpoint reports, not the estimate.
func (l *limiter) settle(ctx context.Context, g grant, actual float64) error {
	for _, c := range []store.QuotaClaim{g.tokens, g.user} {
		if d := actual - c.Units; d != 0 {
			if err := l.st.QuotaCharge(ctx, store.QuotaClaim{QuotaBucket: c.QuotaBucket, Units: d}); err != nil {
				return err
			}
		}
	}
	return nil
}

// block stops every process's requests until t (the endpoint's
// Retry-After).
func (l *limiter) block(ctx context.Context, until time.Time) error {
	return l.st.QuotaBlock(ctx, bucketRequests, until)
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
