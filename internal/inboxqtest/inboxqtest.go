// Package inboxqtest is the test kit: a migrated test database on the real
// PostgreSQL, a rolled-back transaction per test, a fresh schema per test
// for code that must commit (NOTIFY, a started River client), a logger that
// writes through t.Log, and helpers to wait for asynchronous events.
package inboxqtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/store"
)

// DefaultDatabaseURL is the test database when TEST_DATABASE_URL is unset.
const DefaultDatabaseURL = "postgres://127.0.0.1:5432/inboxq_test?sslmode=disable"

// DatabaseURL returns the test database's URL.
func DatabaseURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultDatabaseURL
}

// shared is the one pool per test binary; tests share it the way they share
// the database. A sync.OnceValues is the least state that allows that.
var shared = sync.OnceValues(func() (*pgxpool.Pool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := store.Connect(ctx, DatabaseURL(), store.ConnectOptions{CreateDatabase: true, MaxConns: 20})
	if err != nil {
		return nil, err
	}
	if _, err := store.Migrate(ctx, pool, "", slog.New(slog.DiscardHandler)); err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrating test database: %w", err)
	}
	return pool, nil
})

// Pool returns the shared pool on the migrated test database. Tests must not
// commit through it; use TestTx or TestSchema.
func Pool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool, err := shared()
	require.NoError(tb, err, "test database (set TEST_DATABASE_URL)")
	return pool
}

// TestTx begins a transaction on the test database that is rolled back when
// the test ends, so tests never see each other's rows.
func TestTx(tb testing.TB) pgx.Tx {
	tb.Helper()
	ctx := context.Background()
	tx, err := Pool(tb).Begin(ctx)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = tx.Rollback(ctx) })
	return tx
}

// Schema is a private, migrated schema for one test.
type Schema struct {
	// Name is the schema's name (River's Config.Schema).
	Name string
	// Pool's connections use the schema as their search_path.
	Pool *pgxpool.Pool
	// URL connects to the test database; pair it with Name.
	URL string
}

// TestSchema creates a migrated schema for the test and drops it at the end.
// Use it for code that commits: a started River client, NOTIFY, HTTP
// handlers that run their own transactions.
func TestSchema(tb testing.TB) Schema {
	tb.Helper()
	return TracedSchema(tb, nil)
}

// TracedSchema is TestSchema with tracer seeing every statement its pool
// (and connections copied from its config) sends after the migrations.
func TracedSchema(tb testing.TB, tracer pgx.QueryTracer) Schema {
	tb.Helper()
	s := emptySchema(tb, tracer)
	_, err := store.Migrate(context.Background(), s.Pool, s.Name, slog.New(slog.DiscardHandler))
	require.NoError(tb, err)
	return s
}

// EmptySchema is TestSchema without the migrations, for testing them.
func EmptySchema(tb testing.TB) Schema {
	tb.Helper()
	return emptySchema(tb, nil)
}

func emptySchema(tb testing.TB, tracer pgx.QueryTracer) Schema {
	tb.Helper()
	ctx := context.Background()
	admin := Pool(tb)
	name := "t_" + strings.ToLower(randomHex(6))
	_, err := admin.Exec(ctx, "CREATE SCHEMA "+name)
	require.NoError(tb, err)
	tb.Cleanup(func() {
		_, err := admin.Exec(context.Background(), "DROP SCHEMA "+name+" CASCADE")
		require.NoError(tb, err)
	})

	pool, err := store.Connect(ctx, DatabaseURL(), store.ConnectOptions{Schema: name, MaxConns: 10, Tracer: tracer})
	require.NoError(tb, err)
	tb.Cleanup(pool.Close)
	return Schema{Name: name, Pool: pool, URL: DatabaseURL()}
}

// Logger returns a logger that writes through tb.Log, so output shows only
// for failing tests (or with -v). Benchmarks get warnings only: logging
// every job would measure the logger.
func Logger(tb testing.TB) *slog.Logger {
	level := slog.LevelDebug
	if s, ok := tb.(*Scope); ok {
		tb = s.TB
	}
	if _, bench := tb.(*testing.B); bench {
		level = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: level}))
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Helper()
	w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// WaitOrTimeout receives from ch or fails the test after timeout.
func WaitOrTimeout[T any](tb testing.TB, ch <-chan T, timeout time.Duration) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(timeout):
		tb.Fatalf("nothing received within %s", timeout)
		panic("unreachable")
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
