package inboxqtest

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// ExplainedPool returns a one-connection pool on s whose statements, and
// the statements they run (triggers, functions), have their plans reported
// by auto_explain, with the stock jit = on; plans returns the plans
// reported since its last call.
func ExplainedPool(tb testing.TB, s Schema) (pool *pgxpool.Pool, plans func() []string) {
	tb.Helper()
	var mu sync.Mutex
	var got []string
	cfg, err := pgxpool.ParseConfig(s.URL)
	require.NoError(tb, err)
	cfg.MaxConns = 1
	cfg.ConnConfig.RuntimeParams["search_path"] = s.Name
	cfg.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, n.Message)
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `LOAD 'auto_explain';
			SET jit = on; SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on;
			SET auto_explain.log_level = notice; SET client_min_messages = notice`)
		return err
	}
	pool, err = pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(tb, err)
	tb.Cleanup(pool.Close)
	return pool, func() []string {
		mu.Lock()
		defer mu.Unlock()
		p := got
		got = nil
		return p
	}
}
