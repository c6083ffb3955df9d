package progress_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/store"
)

// When the resync after a lost connection fails (the database cut the
// pool's connections too, as pg_terminate_backend of every connection
// does), the hub reconnects and resyncs again. It used to go on listening
// without the resync: deaf to what it missed, and not ready (/readyz 503)
// until its connection happened to drop again.
func TestFailedResyncIsRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)

	// The store's pool dials through a switch; the listener dials directly.
	var refuse atomic.Bool
	cfg := s.Pool.Config()
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if refuse.Load() {
			return nil, errors.New("refused by the test")
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	var pid atomic.Uint32
	logs := &syncBuffer{}
	hub := progress.NewHub(store.New(pool), func(ctx context.Context) (*pgx.Conn, error) {
		c, err := pgx.ConnectConfig(ctx, s.Pool.Config().ConnConfig.Copy())
		if err == nil {
			pid.Store(c.PgConn().PID())
		}
		return c, err
	}, slog.New(slog.NewTextHandler(logs, nil)))
	hctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- hub.Run(hctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	inboxqtest.WaitOrTimeout(t, hub.Ready(), 10*time.Second)

	// The listener loses its connection while the store cannot connect.
	refuse.Store(true)
	pool.Reset()
	_, err = s.Pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid.Load())
	require.NoError(t, err)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "handle backlog") }, 10*time.Second, 10*time.Millisecond,
		"the resync failed:\n%s", logs)
	require.False(t, hub.Listening())

	refuse.Store(false)
	require.Eventually(t, hub.Listening, 15*time.Second, 10*time.Millisecond, "the hub resynced:\n%s", logs)
}

// syncBuffer is a bytes.Buffer safe for a logger and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
