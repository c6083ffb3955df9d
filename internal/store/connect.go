// Package store is inboxq's repository over PostgreSQL: connecting (and
// creating the database on a fresh machine), migrations, and every query,
// through the sqlc-generated package store/dbsqlc, which no other package
// imports. Driver errors are translated to inbox errors here, once.
package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ConnectOptions tune Connect.
type ConnectOptions struct {
	// CreateDatabase lets Connect create the database named in the URL when
	// the server says it does not exist (only for the built-in default URL:
	// a URL the operator chose is never second-guessed).
	CreateDatabase bool
	// Schema, when set, becomes the connections' search_path (tests use a
	// schema each).
	Schema string
	// MaxConns caps the pool; 0 keeps pgx's default.
	MaxConns int32
	// Tracer sees every statement the pool's connections send (benchmarks
	// count them); nil traces nothing.
	Tracer pgx.QueryTracer
}

// ConnectError is a failure to reach or open the database, phrased for a
// person: one line saying what went wrong and what to set.
type ConnectError struct {
	Target string // host:port/database
	Reason string
	Hint   string
	Err    error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("cannot use PostgreSQL at %s: %s; %s", e.Target, e.Reason, e.Hint)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// Connect opens a pool on dsn and checks that it answers.
func Connect(ctx context.Context, dsn string, opts ConnectOptions) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, &ConnectError{Target: "DATABASE_URL", Reason: "the connection string does not parse", Hint: "set DATABASE_URL to a URL such as postgres://user:password@host:5432/inboxq", Err: err}
	}
	if opts.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = opts.Schema
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	cfg.ConnConfig.Tracer = opts.Tracer

	pool, err := ping(ctx, cfg)
	var pgErr *pgconn.PgError
	if err != nil && opts.CreateDatabase && errors.As(err, &pgErr) && pgErr.Code == "3D000" {
		if err := createDatabase(ctx, cfg.ConnConfig); err != nil {
			return nil, describe(cfg.ConnConfig, err)
		}
		pool, err = ping(ctx, cfg)
	}
	if err != nil {
		return nil, describe(cfg.ConnConfig, err)
	}
	return pool, nil
}

func ping(ctx context.Context, cfg *pgxpool.Config) (*pgxpool.Pool, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// createDatabase creates cfg.Database through the server's "postgres"
// database. A concurrent creator winning the race is fine.
func createDatabase(ctx context.Context, cfg *pgx.ConnConfig) error {
	admin := cfg.Copy()
	admin.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// DDL takes an identifier, which no query parameter can carry, so this one
	// statement is built here rather than in queries/.
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{cfg.Database}.Sanitize())
	var pgErr *pgconn.PgError
	// duplicate_database, or the unique violation on pg_database that a
	// concurrent CREATE DATABASE of the same name raises (two processes, or
	// two test binaries, creating it at once on a fresh machine).
	if errors.As(err, &pgErr) && (pgErr.Code == "42P04" || (pgErr.Code == "23505" && pgErr.ConstraintName == "pg_database_datname_index")) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating database %s: %w", cfg.Database, err)
	}
	return nil
}

// describe turns a pgx connection failure into a ConnectError.
func describe(cfg *pgx.ConnConfig, err error) error {
	ce := &ConnectError{
		Target: fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database),
		Hint:   "start PostgreSQL there, or set DATABASE_URL (postgres://user:password@host:5432/inboxq)",
		Err:    err,
	}
	var (
		pgErr  *pgconn.PgError
		dnsErr *net.DNSError
		netErr net.Error
	)
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		ce.Reason = "timed out connecting"
	case errors.As(err, &pgErr) && pgErr.Code == "3D000":
		ce.Reason = "database " + cfg.Database + " does not exist"
		ce.Hint = "create it (createdb " + cfg.Database + ") or set DATABASE_URL to an existing database"
	case errors.As(err, &pgErr) && (pgErr.Code == "28P01" || pgErr.Code == "28000"):
		ce.Reason = "authentication failed for user " + cfg.User
		ce.Hint = "set DATABASE_URL with the right user and password"
	case errors.As(err, &pgErr):
		ce.Reason = pgErr.Message
	case errors.Is(err, syscall.ECONNREFUSED):
		ce.Reason = "connection refused (is the server running?)"
	case errors.As(err, &dnsErr):
		ce.Reason = "unknown host " + dnsErr.Name
	case errors.As(err, &netErr) && netErr.Timeout():
		ce.Reason = "timed out connecting"
	default:
		ce.Reason = innermost(err).Error()
	}
	return ce
}

func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}
