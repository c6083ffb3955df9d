package store

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/inboxq/inboxq/db"
	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// Migration is one of inboxq's own embedded migrations.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations lists the embedded migrations in order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(db.Migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("reading embedded migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		prefix, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: want NNNN_name.sql", e.Name())
		}
		sql, err := fs.ReadFile(db.Migrations, path.Join("migrations", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading migration %s: %w", e.Name(), err)
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(sql)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	return ms, nil
}

// MigrateResult says what Migrate applied.
type MigrateResult struct {
	River  []int // River migration versions applied
	Inboxq []int // inboxq migration versions applied
}

// Migrate brings River's schema and inboxq's up to date. A session advisory
// lock serializes migrators across processes: a second one waits, then finds
// nothing to do. River applies each of its versions in its own transaction
// (Postgres cannot use an enum value added in the same transaction); inboxq's
// pending migrations then apply in one transaction, all or none.
// schema names River's schema ("" = the search_path, as in production).
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string, logger *slog.Logger) (MigrateResult, error) {
	var res MigrateResult
	all, err := Migrations()
	if err != nil {
		return res, err
	}
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: schema, Logger: logger})
	if err != nil {
		return res, fmt.Errorf("creating river migrator: %w", err)
	}

	conn, err := pool.Acquire(ctx)
	if err != nil {
		return res, fmt.Errorf("acquiring connection: %w", err)
	}
	defer conn.Release()
	q := dbsqlc.New(conn)
	if err := q.MigrationLock(ctx); err != nil {
		return res, fmt.Errorf("taking migration lock: %w", err)
	}
	defer func() {
		if err := q.MigrationUnlock(context.WithoutCancel(ctx)); err != nil {
			// The session ends with the connection; make sure it does.
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()

	riverRes, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return res, fmt.Errorf("applying river migrations: %w", err)
	}
	for _, v := range riverRes.Versions {
		res.River = append(res.River, v.Version)
	}

	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		q := dbsqlc.New(tx)
		if _, err := tx.Exec(ctx, db.Bootstrap); err != nil {
			return fmt.Errorf("creating migration ledger: %w", err)
		}
		applied, err := q.MigrationList(ctx)
		if err != nil {
			return fmt.Errorf("listing applied migrations: %w", err)
		}
		done := map[int]bool{}
		for _, a := range applied {
			done[int(a.Version)] = true
		}
		for _, m := range all {
			if done[m.Version] {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("applying migration %04d_%s: %w", m.Version, m.Name, err)
			}
			if err := q.MigrationInsert(ctx, dbsqlc.MigrationInsertParams{Version: int32(m.Version), Name: m.Name}); err != nil {
				return fmt.Errorf("recording migration %04d: %w", m.Version, err)
			}
			res.Inboxq = append(res.Inboxq, m.Version)
		}
		return nil
	})
	if err != nil {
		return MigrateResult{River: res.River}, err
	}
	return res, nil
}

// MigrationStatus describes which migrations a database has and lacks.
type MigrationStatus struct {
	Applied []Migration // inboxq migrations applied
	Pending []Migration // inboxq migrations not yet applied
	// RiverCurrent is false when River's schema lacks migrations; RiverMessages
	// then says which.
	RiverCurrent  bool
	RiverMessages []string
}

// Current reports whether nothing is pending.
func (s MigrationStatus) Current() bool { return len(s.Pending) == 0 && s.RiverCurrent }

// Status reads the migration state without changing anything.
func Status(ctx context.Context, pool *pgxpool.Pool, schema string) (MigrationStatus, error) {
	var st MigrationStatus
	all, err := Migrations()
	if err != nil {
		return st, err
	}
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: schema})
	if err != nil {
		return st, fmt.Errorf("creating river migrator: %w", err)
	}
	v, err := migrator.Validate(ctx, nil)
	if err != nil {
		return st, fmt.Errorf("validating river migrations: %w", err)
	}
	st.RiverCurrent, st.RiverMessages = v.OK, v.Messages

	q := dbsqlc.New(pool)
	exists, err := q.MigrationTableExists(ctx)
	if err != nil {
		return st, fmt.Errorf("checking migration ledger: %w", err)
	}
	done := map[int]bool{}
	if exists {
		applied, err := q.MigrationList(ctx)
		if err != nil {
			return st, fmt.Errorf("listing applied migrations: %w", err)
		}
		for _, a := range applied {
			done[int(a.Version)] = true
		}
	}
	for _, m := range all {
		if done[m.Version] {
			st.Applied = append(st.Applied, m)
		} else {
			st.Pending = append(st.Pending, m)
		}
	}
	return st, nil
}
