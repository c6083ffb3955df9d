package jobs

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/store"
)

// River's completer waits only for steps handed over and not yet through
// a statement, and never for longer than awaitMax: a completer that never
// runs cannot hold River's completions.
func TestStepAwaitIsBounded(t *testing.T) {
	t.Parallel()
	c := NewStepCompleter(nil, slog.New(slog.NewTextHandler(io.Discard, nil))) // never run: no statement
	c.awaitMax = 2 * time.Second
	require.True(t, c.hand(store.FinishedStep{JobID: 7, Attempt: 1, FinishedAt: time.Now()}))

	awaited := func(ids ...int64) <-chan struct{} {
		done := make(chan struct{})
		go func() { defer close(done); c.await(context.Background(), ids) }()
		return done
	}
	select {
	case <-awaited(8, 9): // nothing of theirs was handed over
	case <-time.After(10 * time.Second):
		t.Fatal("waited for steps never handed over")
	}
	held := awaited(9, 7)
	require.Never(t, func() bool {
		select {
		case <-held:
			return true
		default:
			return false
		}
	}, 100*time.Millisecond, 10*time.Millisecond, "did not wait for a step handed over")
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("waited past awaitMax")
	}

	// A cancelled completion does not wait.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	c.awaitMax = time.Hour
	c.await(ctx, []int64{7})
	require.Less(t, time.Since(start), 10*time.Second)
}
