package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// Store runs inboxq's queries on a pool, or inside one transaction.
type Store struct {
	pool *pgxpool.Pool // nil when bound to a transaction
	q    *dbsqlc.Queries
	// planned runs the same queries planned for each call's values (see
	// customPlans), for those whose best plan depends on them.
	planned *dbsqlc.Queries
}

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, q: dbsqlc.New(pool), planned: dbsqlc.New(customPlans{pool})}
}

// Pool returns the underlying pool, for River.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// InTx runs fn in a transaction with a Store bound to it; fn's error, or a
// panic, rolls everything back.
func (s *Store) InTx(ctx context.Context, fn func(tx pgx.Tx, st *Store) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return fn(tx, WithTx(tx))
	})
}

// WithTx returns a Store whose queries run in tx.
func WithTx(tx pgx.Tx) *Store {
	return &Store{q: dbsqlc.New(tx), planned: dbsqlc.New(customPlans{tx})}
}

// translate maps driver errors to inbox errors, once, here.
func translate(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, inbox.ErrNotFound)
	}
	if Unavailable(err) {
		return fmt.Errorf("%s: %w: %w", what, inbox.ErrUnavailable, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%s: already exists: %w", what, inbox.ErrConflict)
		case "23503", "23514", "22P02", "22023": // foreign key, check, invalid text, invalid parameter
			return fmt.Errorf("%s: %s: %w", what, pgErr.Message, inbox.ErrInvalid)
		case "22021", "22P05", "54000": // bad encoding, untranslatable character (NUL in jsonb), too long
			// The API refuses such input at its door, naming the field;
			// this is the backstop that keeps it a 422, never a 500.
			return fmt.Errorf("%s: the input holds characters or sizes PostgreSQL cannot store: %w", what, inbox.ErrInvalid)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Ping measures one round trip to the database.
func (s *Store) Ping(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if err := s.pool.Ping(ctx); err != nil {
		return 0, fmt.Errorf("pinging database: %w", err)
	}
	return time.Since(start), nil
}

// errNoRows reports "nothing matched" for statements that count rows.
var errNoRows = pgx.ErrNoRows

func secondsToDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Unavailable reports whether err means the database cannot be reached or
// is restarting (no connection, a connection lost, the server shutting down
// or starting up), as opposed to a statement's own failure.
func Unavailable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.Timeout(err) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-03: admin shutdown, crash
		// shutdown, cannot connect now.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	// pgconn.ErrConnClosed: a connection the driver closed after an
	// earlier failure (its socket went away), used again.
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) || errors.Is(err, pgconn.ErrConnClosed)
}
