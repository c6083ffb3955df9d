package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/store"
)

// Errors of a database that went away or is restarting are outages; a
// statement's own failure is not.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	// A connection whose socket went away, used again: "conn closed".
	conn, err := pgx.Connect(ctx, inboxqtest.DatabaseURL())
	require.NoError(t, err)
	require.NoError(t, conn.PgConn().Close(ctx))
	_, closedErr := conn.Exec(ctx, "SELECT 1")
	require.Error(t, closedErr)

	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("storing page: %w", closedErr), true},
		{&pgconn.PgError{Code: "57P01"}, true},
		{&pgconn.PgError{Code: "08006"}, true},
		{&pgconn.PgError{Code: "23505"}, false},
		{errors.New("no rows"), false},
	} {
		require.Equal(t, c.want, store.Unavailable(c.err), "%v", c.err)
	}
}
