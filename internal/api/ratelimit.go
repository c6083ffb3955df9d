package api

import (
	"log/slog"
	"math"
	"strconv"

	"github.com/danielgtaylor/huma/v2"
)

// rateLimitedOp is the operation with a per-user rate bucket whose state
// each response reports (tasks.Limits.CreatesPerMinute).
const rateLimitedOp = "create-task"

func documentRateLimit(r *huma.Response) {
	addHeader(r, "RateLimit-Limit", "Tasks you may start in a burst (the bucket refills this many a minute); absent when no limit applies to you")
	addHeader(r, "RateLimit-Remaining", "Tasks you may start now")
	addHeader(r, "RateLimit-Reset", "Seconds until the bucket is full again")
}

// rateLimitHeaders is Huma middleware for create-task: it sets the IETF
// draft RateLimit-* headers from the caller's bucket as it is after the
// operation, just before the status is sent.
func rateLimitHeaders(d Deps) func(huma.Context, func(huma.Context)) {
	return func(hctx huma.Context, next func(huma.Context)) {
		if hctx.Operation().OperationID != rateLimitedOp {
			next(hctx)
			return
		}
		next(&rateLimitContext{humaContext: hctx, d: d})
	}
}

type rateLimitContext struct {
	humaContext
	d Deps
}

func (c *rateLimitContext) SetStatus(code int) {
	ctx := c.humaContext.Context()
	q, ok, err := c.d.Tasks.CreateQuota(ctx, principal(ctx))
	if err != nil {
		c.d.Logger.WarnContext(ctx, "rate_limit_read_failed", slog.Any("err", err))
	}
	if ok {
		c.SetHeader("RateLimit-Limit", strconv.Itoa(q.Limit))
		c.SetHeader("RateLimit-Remaining", strconv.Itoa(q.Remaining))
		c.SetHeader("RateLimit-Reset", strconv.Itoa(int(math.Ceil(q.Reset.Seconds()))))
	}
	c.humaContext.SetStatus(code)
}
