package store

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// customPlans runs queries as unnamed statements (pgx.QueryExecModeExec),
// which PostgreSQL plans for each call's values. pgx otherwise prepares a
// named statement per connection, and after five runs PostgreSQL may
// switch it to a generic plan: for the task list's optional filters
// ("$1 IS NULL OR state = ANY ($1)") a generic plan cannot use an index for
// the filter, nor a partial index, and reads the table backwards until a
// page is found: for a state few jobs are in, the whole table. Planning each
// call costs well under a millisecond; no server setting is involved.
type customPlans struct{ db dbsqlc.DBTX }

func (c customPlans) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return c.db.Exec(ctx, sql, append([]any{pgx.QueryExecModeExec}, args...)...)
}

func (c customPlans) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return c.db.Query(ctx, sql, append([]any{pgx.QueryExecModeExec}, args...)...)
}

func (c customPlans) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return c.db.QueryRow(ctx, sql, append([]any{pgx.QueryExecModeExec}, args...)...)
}
