package store_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/store"
)

func TestConnectUnreachableSaysWhatToSet(t *testing.T) {
	t.Parallel()
	// A port that nothing listens on: bind one, then close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	_, err = store.Connect(context.Background(), "postgres://"+addr+"/inboxq", store.ConnectOptions{CreateDatabase: true})
	var ce *store.ConnectError
	require.ErrorAs(t, err, &ce)
	msg := err.Error()
	require.NotContains(t, msg, "\n", "one line")
	require.Contains(t, msg, addr+"/inboxq")
	require.Contains(t, msg, "connection refused")
	require.Contains(t, msg, "DATABASE_URL")
}

func TestConnectMissingDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(inboxqtest.DatabaseURL())
	require.NoError(t, err)
	name := "inboxq_missing_" + strings.ToLower(rand.Text()[:10])
	url := strings.Replace(inboxqtest.DatabaseURL(), "/"+cfg.Database, "/"+name, 1)

	// Without permission to create it: a clear error naming the database.
	_, err = store.Connect(ctx, url, store.ConnectOptions{})
	require.ErrorContains(t, err, "database "+name+" does not exist")
	require.ErrorContains(t, err, "createdb "+name)

	// With permission: created, then usable.
	pool, err := store.Connect(ctx, url, store.ConnectOptions{CreateDatabase: true})
	require.NoError(t, err)
	pool.Close()
	t.Cleanup(func() {
		_, err := inboxqtest.Pool(t).Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		require.NoError(t, err)
	})
	// Creating again is harmless.
	pool, err = store.Connect(ctx, url, store.ConnectOptions{CreateDatabase: true})
	require.NoError(t, err)
	pool.Close()
}

func TestConnectBadURL(t *testing.T) {
	t.Parallel()
	_, err := store.Connect(context.Background(), "postgres://%zz", store.ConnectOptions{})
	var ce *store.ConnectError
	require.True(t, errors.As(err, &ce))
	require.ErrorContains(t, err, "does not parse")
}
