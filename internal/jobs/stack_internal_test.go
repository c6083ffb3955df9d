package jobs

import (
	"context"
	"errors"
	"runtime/metrics"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// frameAddr returns the address of its own frame. Called twice from one
// frame it returns the same address, unless the goroutine's stack was
// moved (grown) in between.
//
//go:noinline
func frameAddr() uintptr {
	var x byte
	return uintptr(unsafe.Pointer(&x))
}

// use6KiB needs 6 KiB of stack.
//
//go:noinline
func use6KiB() {
	var buf [6 << 10]byte
	keep(buf[:])
}

// movedBy reports whether f moved the calling goroutine's stack.
func movedBy(f func()) bool {
	before := frameAddr()
	f()
	return frameAddr() != before
}

// StackMovedByDeepCall reports whether a call needing 6 KiB of stack moves
// the calling goroutine's stack: never, inside a job, whose stack
// stackMiddleware grew (jobs_test runs it in a worker).
func StackMovedByDeepCall() bool { return movedBy(use6KiB) }

// startingStack is the size of a new goroutine's stack now.
func startingStack() uint64 {
	s := []metrics.Sample{{Name: "/gc/stack/starting-size:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// A deep call inside the middleware moves no stack: the middleware grew it
// first, in one step. Without the middleware (the control), the same call
// on a fresh goroutine grows the stack, which is what the middleware saves.
func TestStackMiddlewareGrowsTheStackFirst(t *testing.T) {
	t.Parallel()
	errInner := errors.New("inner")
	type result struct {
		moved bool
		err   error
	}
	inside := make(chan result, 1)
	go func() {
		var moved bool
		err := stackMiddleware{}.Work(context.Background(), nil, func(context.Context) error {
			moved = movedBy(use6KiB)
			return errInner
		})
		inside <- result{moved, err}
	}()
	r := <-inside
	require.ErrorIs(t, r.err, errInner, "the middleware returns what the job returned")
	require.False(t, r.moved, "inside the middleware a 6 KiB call finds the stack grown already")

	if start := startingStack(); start >= 8<<10 {
		t.Skipf("the runtime starts goroutines with %d bytes of stack now: the control would not grow", start)
	}
	bare := make(chan bool, 1)
	go func() { bare <- movedBy(use6KiB) }()
	require.True(t, <-bare, "without the middleware the same call grows a new goroutine's stack")
}
