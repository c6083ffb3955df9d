package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/auth"
	"github.com/inboxq/inboxq/internal/inboxqtest"
)

// TestDemoTokenIsReplacedOnEachStart: each demo start's token revokes the
// one the previous start printed, so demo tokens do not pile up; the demo
// user's other tokens stay.
func TestDemoTokenIsReplacedOnEachStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}, NoRiverUI: true})
	other, err := s.Auth.CreateToken(ctx, auth.CreateTokenParams{User: "demo", Name: "laptop"})
	require.NoError(t, err)

	first, revoked, err := mintDemoToken(ctx, s.Auth)
	require.NoError(t, err)
	require.Zero(t, revoked)
	_, err = s.Auth.Authenticate(ctx, first.Secret)
	require.NoError(t, err)

	second, revoked, err := mintDemoToken(ctx, s.Auth)
	require.NoError(t, err)
	require.Equal(t, 1, revoked)
	_, err = s.Auth.Authenticate(ctx, first.Secret)
	require.Error(t, err, "the previous demo token no longer works")
	p, err := s.Auth.Authenticate(ctx, second.Secret)
	require.NoError(t, err)
	require.Equal(t, "demo", p.Name)
	_, err = s.Auth.Authenticate(ctx, other.Secret)
	require.NoError(t, err, "the demo user's own tokens stay")

	live := 0
	toks, err := s.Auth.ListTokens(ctx, "demo")
	require.NoError(t, err)
	for _, tk := range toks {
		if tk.Name == demoTokenName && tk.RevokedAt == nil {
			live++
		}
	}
	require.Equal(t, 1, live)
}
