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

func TestEventsTokensDieWithTheirParent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	svc := auth.NewService(store.New(s.Pool))

	api, err := svc.CreateToken(ctx, auth.CreateTokenParams{User: "alice"})
	require.NoError(t, err)
	other, err := svc.CreateToken(ctx, auth.CreateTokenParams{User: "alice"})
	require.NoError(t, err)
	parent, err := svc.AuthenticateToken(ctx, api.Secret)
	require.NoError(t, err)
	require.Equal(t, api.Token.ID, parent.TokenID)
	require.Zero(t, parent.ParentID)

	ev, _, err := svc.CreateEventsToken(ctx, parent)
	require.NoError(t, err)
	g, err := svc.AuthenticateEvents(ctx, ev)
	require.NoError(t, err)
	require.Equal(t, api.Token.ID, g.ParentID, "an events token remembers its parent")
	require.ElementsMatch(t, []int64{g.TokenID, api.Token.ID}, g.Tokens())
	_, err = svc.Authenticate(ctx, ev)
	require.ErrorIs(t, err, auth.ErrUnauthenticated, "an events token opens streams only")
	valid, err := svc.StillValid(ctx, g)
	require.NoError(t, err)
	require.True(t, valid)

	// Another token's events token is untouched by this revocation.
	og, err := svc.AuthenticateToken(ctx, other.Secret)
	require.NoError(t, err)
	otherEv, _, err := svc.CreateEventsToken(ctx, og)
	require.NoError(t, err)

	require.NoError(t, svc.RevokeToken(ctx, api.Token.ID))
	_, err = svc.AuthenticateEvents(ctx, ev)
	require.ErrorIs(t, err, auth.ErrUnauthenticated, "the parent is revoked")
	valid, err = svc.StillValid(ctx, g)
	require.NoError(t, err)
	require.False(t, valid)
	var revoked bool
	require.NoError(t, s.Pool.QueryRow(ctx, "SELECT revoked_at IS NOT NULL FROM api_token WHERE id = $1", g.TokenID).Scan(&revoked))
	require.True(t, revoked, "revoking the parent revokes its events tokens")
	_, err = svc.AuthenticateEvents(ctx, otherEv)
	require.NoError(t, err)

	// A parent that expires takes its events tokens with it, even before
	// they expire themselves.
	og2, err := svc.AuthenticateToken(ctx, other.Secret)
	require.NoError(t, err)
	ev2, _, err := svc.CreateEventsToken(ctx, og2)
	require.NoError(t, err)
	g2, err := svc.AuthenticateEvents(ctx, ev2)
	require.NoError(t, err)
	_, err = s.Pool.Exec(ctx, "UPDATE api_token SET expires_at = now() - interval '1 second' WHERE id = $1", other.Token.ID)
	require.NoError(t, err)
	_, err = svc.AuthenticateEvents(ctx, ev2)
	require.ErrorIs(t, err, auth.ErrUnauthenticated, "the parent expired")
	valid, err = svc.StillValid(ctx, g2)
	require.NoError(t, err)
	require.False(t, valid)
}

func TestStillValidOutlivesTheEventsTokensOwnExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	svc := auth.NewService(store.New(s.Pool))

	api, err := svc.CreateToken(ctx, auth.CreateTokenParams{User: "alice"})
	require.NoError(t, err)
	parent, err := svc.AuthenticateToken(ctx, api.Secret)
	require.NoError(t, err)
	ev, _, err := svc.CreateEventsToken(ctx, parent)
	require.NoError(t, err)
	g, err := svc.AuthenticateEvents(ctx, ev)
	require.NoError(t, err)

	// Its two minutes to open a stream are over: no new stream, yet the
	// stream it opened goes on while its parent lives.
	_, err = s.Pool.Exec(ctx, "UPDATE api_token SET expires_at = now() - interval '1 second' WHERE id = $1", g.TokenID)
	require.NoError(t, err)
	_, err = svc.AuthenticateEvents(ctx, ev)
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
	valid, err := svc.StillValid(ctx, g)
	require.NoError(t, err)
	require.True(t, valid)

	// An API token's own expiry ends what it opened.
	short, err := svc.CreateToken(ctx, auth.CreateTokenParams{User: "alice", TTL: time.Hour})
	require.NoError(t, err)
	sg, err := svc.AuthenticateEvents(ctx, short.Secret)
	require.NoError(t, err)
	_, err = s.Pool.Exec(ctx, "UPDATE api_token SET expires_at = now() - interval '1 second' WHERE id = $1", short.Token.ID)
	require.NoError(t, err)
	valid, err = svc.StillValid(ctx, sg)
	require.NoError(t, err)
	require.False(t, valid)
}

func TestOnlyEventsTokensAreAcceptedFromURLs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	svc := auth.NewService(store.New(s.Pool))
	full, err := svc.CreateToken(ctx, auth.CreateTokenParams{User: "alice"})
	require.NoError(t, err)
	parent, err := svc.AuthenticateToken(ctx, full.Secret)
	require.NoError(t, err)
	events, _, err := svc.CreateEventsToken(ctx, parent)
	require.NoError(t, err)

	_, err = svc.AuthenticateEventsURL(ctx, full.Secret)
	require.ErrorIs(t, err, auth.ErrUnauthenticated, "a full API token in a URL")
	g, err := svc.AuthenticateEventsURL(ctx, events)
	require.NoError(t, err)
	require.Equal(t, "alice", g.Principal.Name)

	// From a header, event streams take either; everything else only the
	// full token.
	for _, tok := range []string{full.Secret, events} {
		_, err = svc.AuthenticateEvents(ctx, tok)
		require.NoError(t, err)
	}
	_, err = svc.Authenticate(ctx, events)
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
}
