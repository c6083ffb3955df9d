package jobs

import (
	"context"

	"github.com/riverqueue/river/rivertype"
)

// stackMiddleware grows the job goroutine's stack to 16 KiB before any
// other of inboxq's middleware runs. River starts a goroutine for each
// job, with the runtime's small starting stack; the stack then grows by
// doubling wherever it first overflows, and each growth copies the stack
// and walks every frame on it. Left alone, a job's goroutine grew at its
// deepest point, inside the worker (decoding its args), under River's
// frames and inboxq's three middlewares: the CPU profile of the no-op
// benchmark showed the copying (runtime.newstack) at 1.0 s per 100,000
// jobs. Grown here, at a shallow depth, in one step, it was 0.56 s (the
// rest is River's own growth before this middleware runs), and the args
// decoding under it fell from 1.1 to 0.2 s. 16 KiB is the largest stack
// the runtime hands out from its per-P caches. CockroachDB's growstack
// package does the same for its storage paths.
type stackMiddleware struct{}

func (stackMiddleware) IsMiddleware() bool { return true }

// Work implements rivertype.WorkerMiddleware.
func (stackMiddleware) Work(ctx context.Context, _ *rivertype.JobRow, doInner func(context.Context) error) error {
	growStack()
	return doInner(ctx)
}

// growStack has an 8 KiB frame: calling it from a stack of at most a few
// KiB makes the runtime grow the stack straight to 16 KiB (it doubles
// until the frame fits, then copies once).
//
//go:noinline
func growStack() {
	var buf [8 << 10]byte
	keep(buf[:])
}

// keep uses a buffer, so that the compiler keeps it (and its frame).
//
//go:noinline
func keep([]byte) {}

var _ rivertype.WorkerMiddleware = stackMiddleware{}
