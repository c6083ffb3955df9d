package fakegmail

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"google.golang.org/api/gmail/v1"
	"google.golang.org/api/option"
)

// TestConsentPage plays a person on the fake's consent page: the page
// shows the request, Allow for a new address generates its mailbox and
// redirects back with a code (PKCE checked at /token), Deny redirects with
// access_denied, and a bad request or address is refused.
func TestConsentPage(t *testing.T) {
	t.Parallel()
	fake := New(Options{RequireAuth: true, ClientID: "cid", ClientSecret: "sec",
		NewMailbox: func(a string) *Mailbox { return Generate(7, 25, GenerateOptions{Address: a}) }})
	fake.AddMailbox(Generate(4, 20, GenerateOptions{Address: "demo@inboxq.example"}))
	srv, _ := startServer(t, fake)
	ctx := context.Background()
	conf := &oauth2.Config{ClientID: "cid", ClientSecret: "sec", RedirectURL: "http://app.invalid/callback",
		Scopes:   []string{ScopeModify},
		Endpoint: oauth2.Endpoint{AuthURL: srv.URL + "/auth", TokenURL: srv.URL + "/token", AuthStyle: oauth2.AuthStyleInParams}}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("st-1", oauth2.AccessTypeOffline, oauth2.S256ChallengeOption(verifier))
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	res, err := noFollow.Get(authURL)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	page := string(body)
	require.Contains(t, page, `value="demo2@inboxq.example"`, "a fresh address is suggested")
	require.Contains(t, page, ScopeModify)
	require.Contains(t, page, "move them to the trash (not delete them for good)", "the scope in words")
	require.Contains(t, page, `name="state" value="st-1"`)

	post := func(form url.Values) *http.Response {
		t.Helper()
		q, err := url.Parse(authURL)
		require.NoError(t, err)
		for k, v := range q.Query() {
			form[k] = v
		}
		res, err := noFollow.PostForm(srv.URL+"/auth", form)
		require.NoError(t, err)
		t.Cleanup(func() { _ = res.Body.Close() })
		return res
	}

	// Allow for a new address: its mailbox is generated, a code comes back.
	res = post(url.Values{"login": {"Bob@Inboxq.example"}, "decision": {"allow"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	back, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "app.invalid", back.Host)
	require.Equal(t, "st-1", back.Query().Get("state"))
	require.NotNil(t, fake.Mailbox("bob@inboxq.example"))
	tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	svc, err := gmail.NewService(ctx, option.WithTokenSource(conf.TokenSource(ctx, tok)), option.WithEndpoint(srv.URL+"/"))
	require.NoError(t, err)
	p, err := svc.Users.GetProfile("me").Do()
	require.NoError(t, err)
	require.Equal(t, "bob@inboxq.example", p.EmailAddress)
	require.EqualValues(t, 25, p.MessagesTotal)

	// Deny: Google's access_denied, with the state.
	res = post(url.Values{"login": {"bob@inboxq.example"}, "decision": {"deny"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	back, err = url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "access_denied", back.Query().Get("error"))
	require.Empty(t, back.Query().Get("code"))

	// Not an address: the page again, saying so.
	res = post(url.Values{"login": {"not an address"}, "decision": {"allow"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	body, _ = io.ReadAll(res.Body)
	require.Contains(t, string(body), "Enter an email address")

	// Another client: refused before the page is shown.
	res, err = noFollow.Get(strings.Replace(authURL, "client_id=cid", "client_id=other", 1))
	require.NoError(t, err)
	_ = res.Body.Close()
	require.Equal(t, http.StatusBadRequest, res.StatusCode)

	// Without NewMailbox, an unknown address is refused on the page.
	strict := New(Options{ClientID: "cid"})
	strict.AddMailbox(Generate(4, 5, GenerateOptions{Address: "a@example.com"}))
	ssrv, _ := startServer(t, strict)
	q, _ := url.Parse(authURL)
	form := q.Query()
	form.Set("login", "nobody@example.com")
	form.Set("decision", "allow")
	res, err = noFollow.PostForm(ssrv.URL+"/auth", form)
	require.NoError(t, err)
	body, _ = io.ReadAll(res.Body)
	_ = res.Body.Close()
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	require.Contains(t, string(body), "No mailbox nobody@example.com")
	require.Nil(t, strict.Mailbox("nobody@example.com"))
}
