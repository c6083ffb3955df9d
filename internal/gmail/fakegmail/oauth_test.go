package fakegmail

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"google.golang.org/api/gmail/v1"
	"google.golang.org/api/option"
)

func TestOAuthFlowAndScopes(t *testing.T) {
	t.Parallel()
	clock := NewManualClock(testEpoch)
	fake := New(Options{RequireAuth: true, ClientID: "cid", ClientSecret: "sec", Now: clock.Now})
	fake.AddMailbox(Generate(4, 20, GenerateOptions{}))
	srv, anon := startServer(t, fake)
	ctx := context.Background()
	conf := &oauth2.Config{
		ClientID: "cid", ClientSecret: "sec",
		Endpoint: oauth2.Endpoint{TokenURL: srv.URL + "/token", AuthStyle: oauth2.AuthStyleInParams},
	}
	client := func(ts oauth2.TokenSource) *gmail.Service {
		svc, err := gmail.NewService(ctx, option.WithTokenSource(ts), option.WithEndpoint(srv.URL+"/"))
		require.NoError(t, err)
		return svc
	}

	// No bearer token: 401 authError.
	_, err := anon.Users.GetProfile("me").Do()
	ge := requireAPIError(t, err, http.StatusUnauthorized, "authError")
	require.Equal(t, "Invalid Credentials", ge.Errors[0].Message)

	// Authorization code exchange.
	fake.AddAuthCode("code-1", "me@example.com", ScopeModify)
	tok, err := conf.Exchange(ctx, "code-1")
	require.NoError(t, err)
	require.NotEmpty(t, tok.AccessToken)
	require.NotEmpty(t, tok.RefreshToken)
	require.Equal(t, "Bearer", tok.TokenType)
	require.Equal(t, ScopeModify, tok.Extra("scope"))
	require.WithinDuration(t, time.Now().Add(time.Hour), tok.Expiry, time.Minute)
	_, err = conf.Exchange(ctx, "code-1") // codes are single use
	var re *oauth2.RetrieveError
	require.True(t, errors.As(err, &re))
	require.Equal(t, "invalid_grant", re.ErrorCode)

	svc := client(conf.TokenSource(ctx, tok))
	p, err := svc.Users.GetProfile("me").Do()
	require.NoError(t, err)
	require.Equal(t, "me@example.com", p.EmailAddress)
	// gmail.modify cannot delete permanently.
	err = svc.Users.Messages.BatchDelete("me", &gmail.BatchDeleteMessagesRequest{Ids: []string{"0000000000000001"}}).Do()
	requireAPIError(t, err, http.StatusForbidden, "insufficientPermissions")
	// Another user's mailbox is off limits with a token.
	_, err = svc.Users.GetProfile("other@example.com").Do()
	requireAPIError(t, err, http.StatusForbidden, "forbidden")

	// A token source holding only the refresh token refreshes first.
	fake.ResetLog()
	refreshed := client(conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}))
	_, err = refreshed.Users.Labels.List("me").Do()
	require.NoError(t, err)
	reqs := fake.Requests()
	require.Len(t, reqs, 2)
	require.Equal(t, "oauth.token", reqs[0].Operation)
	require.Equal(t, "me@example.com", reqs[0].User)
	require.Equal(t, "labels.list", reqs[1].Operation)

	// Access tokens expire on the server clock.
	static := client(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: fake.IssueAccessToken("me@example.com")}))
	_, err = static.Users.GetProfile("me").Do()
	require.NoError(t, err)
	clock.Advance(61 * time.Minute)
	_, err = static.Users.GetProfile("me").Do()
	requireAPIError(t, err, http.StatusUnauthorized, "authError")

	// Wrong client secret.
	bad := *conf
	bad.ClientSecret = "nope"
	_, err = bad.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	require.True(t, errors.As(err, &re))
	require.Equal(t, "invalid_client", re.ErrorCode)
}

func TestRevokedRefreshTokenIsInvalidGrant(t *testing.T) {
	t.Parallel()
	fake := New(Options{RequireAuth: true})
	fake.AddMailbox(NewMailbox("me@example.com", 1))
	srv, _ := startServer(t, fake)
	ctx := context.Background()
	conf := &oauth2.Config{
		ClientID: "cid", ClientSecret: "sec",
		Endpoint: oauth2.Endpoint{TokenURL: srv.URL + "/token", AuthStyle: oauth2.AuthStyleInParams},
	}
	call := func(refresh string) error {
		svc, err := gmail.NewService(ctx,
			option.WithTokenSource(conf.TokenSource(ctx, &oauth2.Token{RefreshToken: refresh})),
			option.WithEndpoint(srv.URL+"/"))
		require.NoError(t, err)
		_, err = svc.Users.GetProfile("me").Do()
		return err
	}

	// Revoked through the Go API.
	rt := fake.IssueRefreshToken("me@example.com")
	require.NoError(t, call(rt))
	require.True(t, fake.RevokeRefreshToken(rt))
	err := call(rt)
	var re *oauth2.RetrieveError
	require.True(t, errors.As(err, &re), "want *oauth2.RetrieveError through the gmail client, got %T: %v", err, err)
	require.Equal(t, "invalid_grant", re.ErrorCode)
	require.Equal(t, "Token has been expired or revoked.", re.ErrorDescription)
	require.Equal(t, http.StatusBadRequest, re.Response.StatusCode)

	// Revoked through POST /revoke, as on account deletion.
	rt2 := fake.IssueRefreshToken("me@example.com", ScopeReadonly)
	resp, err := http.PostForm(srv.URL+"/revoke", url.Values{"token": {rt2}})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, errors.As(call(rt2), &re))
	require.Equal(t, "invalid_grant", re.ErrorCode)

	// Unknown tokens are invalid_grant too; revoking them is invalid_token.
	require.True(t, errors.As(call("1//0never-issued"), &re))
	require.Equal(t, "invalid_grant", re.ErrorCode)
	resp, err = http.PostForm(srv.URL+"/revoke", url.Values{"token": {"nope"}})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestConsentPKCE(t *testing.T) {
	t.Parallel()
	fake := New(Options{RequireAuth: true, ClientID: "cid", ClientSecret: "sec"})
	fake.AddMailbox(Generate(2, 5, GenerateOptions{Address: "me@example.com"}))
	srv, _ := startServer(t, fake)
	ctx := context.Background()
	conf := &oauth2.Config{
		ClientID: "cid", ClientSecret: "sec", RedirectURL: "http://app.test/cb", Scopes: []string{ScopeModify},
		Endpoint: oauth2.Endpoint{AuthURL: srv.URL + "/auth", TokenURL: srv.URL + "/token", AuthStyle: oauth2.AuthStyleInParams},
	}
	verifier := oauth2.GenerateVerifier()
	// consent returns a fresh code for a consent with verifier's challenge.
	consent := func() string {
		t.Helper()
		back, err := fake.Consent(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), "me@example.com")
		require.NoError(t, err)
		u, err := url.Parse(back)
		require.NoError(t, err)
		require.Equal(t, "app.test", u.Host)
		require.Equal(t, "st", u.Query().Get("state"))
		return u.Query().Get("code")
	}
	refused := func(err error, description string) {
		t.Helper()
		var re *oauth2.RetrieveError
		require.True(t, errors.As(err, &re), "want *oauth2.RetrieveError, got %T: %v", err, err)
		require.Equal(t, "invalid_grant", re.ErrorCode)
		require.Equal(t, description, re.ErrorDescription)
	}

	// Without a verifier, with another one or with a malformed one: refused,
	// and the code is spent.
	code := consent()
	_, err := conf.Exchange(ctx, code)
	refused(err, "Missing code verifier.")
	_, err = conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	refused(err, "Malformed auth code.")
	_, err = conf.Exchange(ctx, consent(), oauth2.VerifierOption(oauth2.GenerateVerifier()))
	refused(err, "Invalid code verifier.")
	_, err = conf.Exchange(ctx, consent(), oauth2.VerifierOption("short"))
	refused(err, "Invalid code verifier.")

	// The matching verifier: tokens for the consenting user and scope.
	fake.ResetLog()
	tok, err := conf.Exchange(ctx, consent(), oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	require.Equal(t, ScopeModify, tok.Extra("scope"))
	reqs := fake.Requests()
	require.Len(t, reqs, 1)
	require.Equal(t, "me@example.com", reqs[0].User)
	require.Equal(t, "S256", reqs[0].PKCE)

	// A plain challenge is the verifier itself; a code without a challenge
	// needs no verifier.
	back, err := fake.Consent(conf.AuthCodeURL("st", oauth2.SetAuthURLParam("code_challenge", verifier)), "me@example.com")
	require.NoError(t, err)
	u, err := url.Parse(back)
	require.NoError(t, err)
	_, err = conf.Exchange(ctx, u.Query().Get("code"), oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	fake.AddAuthCode("legacy", "me@example.com")
	_, err = conf.Exchange(ctx, "legacy")
	require.NoError(t, err)

	// Another client's consent link is refused.
	other := *conf
	other.ClientID = "someone-else"
	_, err = fake.Consent(other.AuthCodeURL("st"), "me@example.com")
	require.ErrorContains(t, err, "invalid_client")
}
