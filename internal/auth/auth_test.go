package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/auth"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/store"
)

func TestTokensAreHashedAndChecked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	svc := auth.NewService(store.New(s.Pool))

	tok, err := svc.CreateToken(ctx, auth.CreateTokenParams{User: "alice", Name: "laptop"})
	require.NoError(t, err)
	require.Regexp(t, `^iq_[A-Za-z0-9_-]{43}$`, tok.Secret)
	require.Equal(t, inbox.RoleUser, tok.User.Role)

	// Only the SHA-256 is stored: the secret appears nowhere in the table.
	var hash []byte
	var prefix string
	require.NoError(t, s.Pool.QueryRow(ctx, "SELECT hash, prefix FROM api_token WHERE id = $1", tok.Token.ID).Scan(&hash, &prefix))
	require.Equal(t, auth.Hash(tok.Secret), hash)
	require.Len(t, prefix, 9)
	var leaks int
	require.NoError(t, s.Pool.QueryRow(ctx, "SELECT count(*) FROM api_token WHERE position($1 in hash::text || name || prefix) > 0", tok.Secret).Scan(&leaks))
	require.Zero(t, leaks)

	p, err := svc.Authenticate(ctx, tok.Secret)
	require.NoError(t, err)
	require.Equal(t, "alice", p.Name)
	for _, bad := range []string{"", "iq_", tok.Secret + "x", "Bearer " + tok.Secret, "xx" + tok.Secret[2:]} {
		_, err := svc.Authenticate(ctx, bad)
		require.ErrorIs(t, err, auth.ErrUnauthenticated, bad)
	}

	// Revoked: refused.
	require.NoError(t, svc.RevokeToken(ctx, tok.Token.ID))
	_, err = svc.Authenticate(ctx, tok.Secret)
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
	require.ErrorIs(t, svc.RevokeToken(ctx, tok.Token.ID), inbox.ErrNotFound, "revoking twice")

	// Expired: refused.
	short, err := svc.CreateToken(ctx, auth.CreateTokenParams{User: "alice", TTL: time.Millisecond})
	require.NoError(t, err)
	time.Sleep(5 * time.Millisecond)
	_, err = svc.Authenticate(ctx, short.Secret)
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
}

func TestAdminRoleAndNames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	svc := auth.NewService(store.New(s.Pool))

	u, err := svc.CreateToken(ctx, auth.CreateTokenParams{User: "ops"})
	require.NoError(t, err)
	require.Equal(t, inbox.RoleUser, u.User.Role)
	a, err := svc.CreateToken(ctx, auth.CreateTokenParams{User: "ops", Admin: true})
	require.NoError(t, err)
	require.Equal(t, inbox.RoleAdmin, a.User.Role)
	require.Equal(t, u.User.UserID, a.User.UserID, "same user, promoted")
	again, err := svc.CreateToken(ctx, auth.CreateTokenParams{User: "ops"})
	require.NoError(t, err)
	require.Equal(t, inbox.RoleAdmin, again.User.Role, "never demoted by a plain create")

	for _, bad := range []string{"", "has space", "-dash", "ümlaut"} {
		_, err := svc.CreateToken(ctx, auth.CreateTokenParams{User: bad})
		require.ErrorIs(t, err, inbox.ErrInvalid, bad)
	}
	ts, err := svc.ListTokens(ctx, "ops")
	require.NoError(t, err)
	require.Len(t, ts, 3)
}

func TestOnlyEventsTokensAreAcceptedFromURLs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	svc := auth.NewService(store.New(s.Pool))

	full, err := svc.CreateToken(ctx, auth.CreateTokenParams{User: "alice"})
	require.NoError(t, err)
	events, _, err := svc.CreateEventsToken(ctx, full.User)
	require.NoError(t, err)

	_, err = svc.AuthenticateEventsURL(ctx, full.Secret)
	require.ErrorIs(t, err, auth.ErrUnauthenticated, "a full API token in a URL")
	p, err := svc.AuthenticateEventsURL(ctx, events)
	require.NoError(t, err)
	require.Equal(t, "alice", p.Name)

	// From a header, event streams take either; everything else only the
	// full token.
	for _, tok := range []string{full.Secret, events} {
		_, err = svc.AuthenticateEvents(ctx, tok)
		require.NoError(t, err)
	}
	_, err = svc.Authenticate(ctx, events)
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
}
