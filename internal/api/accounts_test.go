package api_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/inboxq/inboxq/internal/account"
	"github.com/inboxq/inboxq/internal/api"
	"github.com/inboxq/inboxq/internal/gmail"
	"github.com/inboxq/inboxq/internal/gmail/fakegmail"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/secret"
)

// origin is where the tests' inboxq is reached; Google redirects to its
// callback.
const origin = "http://inboxq.test"

// oauthStack is a stack whose accounts connect through a fake Google with
// the mailboxes ann@ and eve@example.com.
func oauthStack(t *testing.T) (*inboxqtest.Stack, *fakegmail.Server, *secret.Box) {
	t.Helper()
	fake := fakegmail.New(fakegmail.Options{RequireAuth: true, ClientID: "cid", ClientSecret: "csec"})
	fake.AddMailbox(fakegmail.Generate(3, 10, fakegmail.GenerateOptions{Address: "ann@example.com"}))
	fake.AddMailbox(fakegmail.Generate(4, 10, fakegmail.GenerateOptions{Address: "eve@example.com"}))
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)

	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}, NoRiverUI: true})
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secret.NewBox(key)
	require.NoError(t, err)
	provider := gmail.NewProvider(gmail.Config{ClientID: "cid", ClientSecret: "csec", RedirectURL: origin + "/api/v1/accounts/oauth/callback",
		AuthURL: srv.URL + "/auth", TokenURL: srv.URL + "/token", APIBase: srv.URL}, s.Store, box, inboxqtest.Logger(t))
	s.Handler = api.NewHandler(api.Deps{Logger: inboxqtest.Logger(t), Tasks: s.Tasks, Auth: s.Auth, Hub: s.Hub, Accounts: account.Service{Accounts: gmail.Accounts{P: provider}, Store: s.Store},
		Ready: func(context.Context) error { return nil }})
	return s, fake, box
}

// browser is one person's browser: it keeps cookies as a browser does
// (paths, Max-Age) and signs API calls with its user's token.
type browser struct {
	s     *inboxqtest.Stack
	token string
	jar   *cookiejar.Jar
	// header is added to every request.
	header http.Header
}

func newBrowser(t *testing.T, s *inboxqtest.Stack, token string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{s: s, token: token, jar: jar, header: http.Header{}}
}

// do sends a request to inboxq; target is a path or an absolute URL.
func (b *browser) do(t *testing.T, method, target string) *http.Response {
	t.Helper()
	u, err := url.Parse(origin)
	require.NoError(t, err)
	u, err = u.Parse(target)
	require.NoError(t, err)
	req := httptest.NewRequest(method, u.String(), nil)
	for k, v := range b.header {
		req.Header[k] = v
	}
	if b.token != "" {
		req.Header.Set("Authorization", "Bearer "+b.token)
	}
	for _, c := range b.jar.Cookies(u) {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	b.s.Handler.ServeHTTP(rec, req)
	res := rec.Result()
	b.jar.SetCookies(u, res.Cookies())
	return res
}

// connect starts a connection and returns Google's consent URL.
func (b *browser) connect(t *testing.T) string {
	t.Helper()
	res := b.do(t, http.MethodPost, "/api/v1/accounts/connect")
	require.Equal(t, http.StatusOK, res.StatusCode)
	var start struct {
		AuthorizeURL string `json:"authorize_url"`
	}
	inboxqtest.Response{Code: res.StatusCode, Body: readAll(t, res)}.JSON(t, &start)
	return start.AuthorizeURL
}

// consentCookie is the browser's cookie for the callback, if any.
func (b *browser) consentCookie(t *testing.T) *http.Cookie {
	t.Helper()
	u, err := url.Parse(origin + "/api/v1/accounts/oauth/callback")
	require.NoError(t, err)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == "inboxq_oauth" {
			return c
		}
	}
	return nil
}

// landing follows a callback and returns the dashboard URL it redirects to.
func (b *browser) landing(t *testing.T, callback string) *url.URL {
	t.Helper()
	res := b.do(t, http.MethodGet, callback)
	require.Equal(t, http.StatusFound, res.StatusCode, "%s", readAll(t, res))
	u, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "/accounts", u.Path)
	require.Nil(t, b.consentCookie(t), "the callback clears the consent cookie")
	return u
}

// requireNoAccounts checks that nobody has a connected mailbox.
func requireNoAccounts(t *testing.T, s *inboxqtest.Stack) {
	t.Helper()
	all, err := s.Store.AccountList(context.Background(), nil)
	require.NoError(t, err)
	require.Empty(t, all)
}

// tokenExchanges counts the code exchanges the fake Google saw.
func tokenExchanges(fake *fakegmail.Server) (n int, pkce []string) {
	for _, r := range fake.Requests() {
		if r.Operation == "oauth.token" {
			n++
			pkce = append(pkce, r.PKCE)
		}
	}
	return n, pkce
}

func TestConnectAccountThroughOAuth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, fake, box := oauthStack(t)
	_, alice := s.User(t, "alice", false)
	_, bob := s.User(t, "bob", false)
	ann := newBrowser(t, s, alice)

	authorize := ann.connect(t)
	u, err := url.Parse(authorize)
	require.NoError(t, err)
	q := u.Query()
	require.Equal(t, "cid", q.Get("client_id"))
	require.Equal(t, "offline", q.Get("access_type"))
	require.Equal(t, "consent", q.Get("prompt"))
	require.Contains(t, q.Get("scope"), gmail.ScopeModify)
	require.Equal(t, "S256", q.Get("code_challenge_method"))
	require.Len(t, q.Get("code_challenge"), 43)
	require.NotEmpty(t, q.Get("state"))

	// The browser now holds the binding cookie, for the callback only.
	c := ann.consentCookie(t)
	require.NotNil(t, c)
	require.NotEqual(t, q.Get("state"), c.Value)
	res := ann.do(t, http.MethodPost, "/api/v1/accounts/connect")
	set, err := http.ParseSetCookie(res.Header.Get("Set-Cookie"))
	require.NoError(t, err)
	require.Equal(t, "inboxq_oauth", set.Name)
	require.True(t, set.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, set.SameSite)
	require.False(t, set.Secure, "plain HTTP")
	require.Equal(t, "/api/v1/accounts/oauth/callback", set.Path)
	require.InDelta(t, 600, set.MaxAge, 5)
	// Behind a TLS proxy the cookie is Secure.
	tlsBrowser := newBrowser(t, s, alice)
	tlsBrowser.header.Set("X-Forwarded-Proto", "https")
	set, err = http.ParseSetCookie(tlsBrowser.do(t, http.MethodPost, "/api/v1/accounts/connect").Header.Get("Set-Cookie"))
	require.NoError(t, err)
	require.True(t, set.Secure)

	// The latest connect in this browser wins; Google sends the browser
	// back with a code, the callback exchanges it with the PKCE verifier.
	authorize = ann.connect(t)
	callback, err := fake.Consent(authorize, "ann@example.com")
	require.NoError(t, err)
	fake.ResetLog()
	landed := ann.landing(t, callback)
	require.Equal(t, "ann@example.com", landed.Query().Get("connected"))
	n, pkce := tokenExchanges(fake)
	require.Equal(t, 1, n)
	require.Equal(t, []string{"S256"}, pkce, "the fake checked the code_verifier against the challenge")

	var list struct {
		Accounts []struct {
			ID     int64  `json:"id"`
			Email  string `json:"email"`
			Status string `json:"status"`
		} `json:"accounts"`
	}
	s.Do(t, http.MethodGet, "/api/v1/accounts", alice, nil).JSON(t, &list)
	require.Len(t, list.Accounts, 1)
	require.Equal(t, "ann@example.com", list.Accounts[0].Email)
	require.Equal(t, "connected", list.Accounts[0].Status)
	acct, err := s.Store.AccountGet(ctx, list.Accounts[0].ID, nil)
	require.NoError(t, err)
	require.NotEmpty(t, acct.SealedToken)
	require.Equal(t, box.KeyID(), acct.TokenKeyID)

	// Preview of a bulk target: stored messages only, the owner's only.
	_, err = s.Schema.Pool.Exec(ctx, `INSERT INTO message (account_id, id, thread_id, from_addr, internal_date, label_ids)
		VALUES ($1, 'm1', 'm1', 'News <n@shop.example>', now() - interval '400 days', '{INBOX,CATEGORY_PROMOTIONS}'),
		       ($1, 'm2', 'm2', 'Ann <ann@example.com>', now(), '{INBOX}')`, acct.ID)
	require.NoError(t, err)
	var count struct {
		Count int64 `json:"count"`
	}
	path := "/api/v1/accounts/" + itoa(acct.ID) + "/messages/count"
	s.Do(t, http.MethodPost, path, alice, map[string]any{"target": map[string]any{"label": "INBOX"}}).JSON(t, &count)
	require.EqualValues(t, 2, count.Count)
	s.Do(t, http.MethodPost, path, alice, map[string]any{"target": map[string]any{"from": "SHOP", "older_than_days": 365}}).JSON(t, &count)
	require.EqualValues(t, 1, count.Count)
	problemOf(t, s.Do(t, http.MethodPost, path, alice, map[string]any{"target": map[string]any{}}), http.StatusUnprocessableEntity)
	problemOf(t, s.Do(t, http.MethodPost, path, bob, map[string]any{"target": map[string]any{"label": "INBOX"}}), http.StatusNotFound)

	// A state is single use; a forged one is refused; bob sees nothing.
	landed = ann.landing(t, callback)
	require.Equal(t, "consent_expired", landed.Query().Get("error"))
	require.Contains(t, landed.Query().Get("error_description"), "expired or was already used")
	landed = ann.landing(t, "/api/v1/accounts/oauth/callback?code=code-2&state=forged")
	require.Equal(t, "consent_expired", landed.Query().Get("error"))
	problemOf(t, s.Do(t, http.MethodGet, "/api/v1/accounts/oauth/callback?state=x", "", nil), http.StatusBadRequest)
	landed = ann.landing(t, "/api/v1/accounts/oauth/callback?error=access_denied")
	require.Equal(t, "/accounts?error=access_denied", landed.String())
	s.Do(t, http.MethodGet, "/api/v1/accounts", bob, nil).JSON(t, &list)
	require.Empty(t, list.Accounts)
	problemOf(t, s.Do(t, http.MethodDelete, "/api/v1/accounts/"+itoa(acct.ID), bob, nil), http.StatusNotFound)
	require.Equal(t, http.StatusNoContent, s.Do(t, http.MethodDelete, "/api/v1/accounts/"+itoa(acct.ID), alice, nil).Code)

	// Without a Google client (demo mode) there is nothing to connect.
	demo := gmail.NewProvider(gmail.Config{}, s.Store, box, inboxqtest.Logger(t))
	s.Handler = api.NewHandler(api.Deps{Logger: inboxqtest.Logger(t), Tasks: s.Tasks, Auth: s.Auth, Hub: s.Hub, Accounts: account.Service{Accounts: gmail.Accounts{P: demo}, Store: s.Store},
		Ready: func(context.Context) error { return nil }})
	problemOf(t, s.Do(t, http.MethodPost, "/api/v1/accounts/connect", alice, nil), http.StatusConflict)
}

// The audit's attack: Mallory starts a connection and sends her consent
// link to Eve; Eve's consent must not connect Eve's mailbox to Mallory.
func TestOAuthConsentLinkSentToSomeoneElse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, fake, _ := oauthStack(t)
	_, mallory := s.User(t, "mallory", false)
	_, eveToken := s.User(t, "eve", false)
	attacker := newBrowser(t, s, mallory)
	link := attacker.connect(t)

	// Eve's browser has no consent cookie: refused, nothing exchanged or stored.
	eve := newBrowser(t, s, "")
	callback, err := fake.Consent(link, "eve@example.com")
	require.NoError(t, err)
	fake.ResetLog()
	landed := eve.landing(t, callback)
	require.Equal(t, "consent_other_browser", landed.Query().Get("error"))
	require.Equal(t, "This mailbox connection was started in another browser or by someone else, so it was refused. "+
		"Start the connection again from Accounts in this browser.", landed.Query().Get("error_description"))
	n, _ := tokenExchanges(fake)
	require.Zero(t, n, "the code was never exchanged")
	requireNoAccounts(t, s)

	// Nor does a cookie of Eve's own connection (another state) help.
	eve.token = eveToken
	eve.connect(t)
	require.NotNil(t, eve.consentCookie(t))
	callback, err = fake.Consent(link, "eve@example.com")
	require.NoError(t, err)
	landed = eve.landing(t, callback)
	require.Equal(t, "consent_other_browser", landed.Query().Get("error"))
	// A forged cookie neither.
	u, err := url.Parse(origin + "/api/v1/accounts/oauth/callback")
	require.NoError(t, err)
	eve.jar.SetCookies(u, []*http.Cookie{{Name: "inboxq_oauth", Value: "forged", Path: u.Path}})
	callback, err = fake.Consent(link, "eve@example.com")
	require.NoError(t, err)
	landed = eve.landing(t, callback)
	require.Equal(t, "consent_other_browser", landed.Query().Get("error"))
	n, _ = tokenExchanges(fake)
	require.Zero(t, n)
	requireNoAccounts(t, s)

	// The refusals changed nothing: the state still waits for its own
	// browser, which can finish (with its own mailbox) once.
	callback, err = fake.Consent(link, "ann@example.com")
	require.NoError(t, err)
	require.Equal(t, "ann@example.com", attacker.landing(t, callback).Query().Get("connected"))

	// An expired consent is refused as such, even from the right browser.
	link = attacker.connect(t)
	_, err = s.Schema.Pool.Exec(ctx, `UPDATE oauth_state SET expires_at = now() - interval '1 second'`)
	require.NoError(t, err)
	callback, err = fake.Consent(link, "eve@example.com")
	require.NoError(t, err)
	require.Equal(t, "consent_expired", attacker.landing(t, callback).Query().Get("error"))
	all, err := s.Store.AccountList(ctx, nil)
	require.NoError(t, err)
	require.Len(t, all, 1)
	require.Equal(t, "ann@example.com", all[0].Email)
}

// A code exchanged without its PKCE verifier is refused by Google (here
// the fake): the person is told, nothing is stored.
func TestOAuthCallbackWrongVerifier(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, fake, _ := oauthStack(t)
	_, alice := s.User(t, "alice", false)
	ann := newBrowser(t, s, alice)
	callback, err := fake.Consent(ann.connect(t), "ann@example.com")
	require.NoError(t, err)
	_, err = s.Schema.Pool.Exec(ctx, `UPDATE oauth_state SET code_verifier = $1`, oauth2.GenerateVerifier())
	require.NoError(t, err)
	fake.ResetLog()
	landed := ann.landing(t, callback)
	require.Equal(t, "consent_refused", landed.Query().Get("error"))
	require.Contains(t, landed.Query().Get("error_description"), "nothing was connected")
	n, pkce := tokenExchanges(fake)
	require.Equal(t, 1, n)
	require.Equal(t, []string{""}, pkce, "the fake did not accept the verifier")
	requireNoAccounts(t, s)
}

// Callback parameters PostgreSQL cannot store get a clear 422 naming the
// parameter (the API's rule for unstorable input), and change nothing.
func TestOAuthCallbackUnstorableParameters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, fake, _ := oauthStack(t)
	_, alice := s.User(t, "alice", false)
	ann := newBrowser(t, s, alice)
	callback, err := fake.Consent(ann.connect(t), "ann@example.com")
	require.NoError(t, err)
	u, err := url.Parse(callback)
	require.NoError(t, err)
	code, state := u.Query().Get("code"), u.Query().Get("state")

	for _, bad := range []string{"%00", "a%00b", "%FF", "%C3%28"} {
		for _, query := range []string{"code=" + code + "&state=" + bad, "code=" + bad + "&state=" + state, "code=" + bad + "&state=" + bad} {
			res := ann.do(t, http.MethodGet, "/api/v1/accounts/oauth/callback?"+query)
			body := readAll(t, res)
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "%s: %s", query, body)
			require.Regexp(t, `query\.(code|state)`, string(body))
			// Unauthenticated too.
			problemOf(t, s.Do(t, http.MethodGet, "/api/v1/accounts/oauth/callback?"+query, "", nil), http.StatusUnprocessableEntity)
		}
	}
	pending, err := s.Store.OAuthStatePending(ctx, state)
	require.NoError(t, err)
	require.True(t, pending)
	requireNoAccounts(t, s)
	require.NotNil(t, ann.consentCookie(t))

	// The untouched consent still completes.
	require.Equal(t, "ann@example.com", ann.landing(t, callback).Query().Get("connected"))
}

func readAll(t *testing.T, res *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return b
}

func itoa(n int64) string { return fmtInt(n) }

// TestAccountLabels lists a connected account's labels from Gmail with
// readable names and stored counts; another user's account is a 404 and an
// account that needs reconnecting a 409 that says so.
func TestAccountLabels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, fake, _ := oauthStack(t)
	_, alice := s.User(t, "alice", false)
	_, bob := s.User(t, "bob", false)
	ann := newBrowser(t, s, alice)
	callback, err := fake.Consent(ann.connect(t), "ann@example.com")
	require.NoError(t, err)
	ann.landing(t, callback)
	accts, err := s.Store.AccountList(ctx, nil)
	require.NoError(t, err)
	require.Len(t, accts, 1)
	acct := accts[0]
	require.NoError(t, s.Store.MessageUpsert(ctx, acct.ID, []inbox.Message{
		{ID: "m1", ThreadID: "t1", Date: time.Now(), Labels: []string{"INBOX", "CATEGORY_PROMOTIONS"}},
		{ID: "m2", ThreadID: "t2", Date: time.Now(), Labels: []string{"CATEGORY_PROMOTIONS"}},
	}))

	path := fmt.Sprintf("/api/v1/accounts/%d/labels", acct.ID)
	r := send(t, s.Handler, http.MethodGet, path, nil, http.Header{"Authorization": {"Bearer " + alice}})
	require.Equal(t, http.StatusOK, r.Code, "%s", r.Body)
	var out struct {
		Labels []struct {
			ID, Name string
			System   bool
			Messages int64
		}
	}
	r.JSON(t, &out)
	byID := map[string]int{}
	for i, l := range out.Labels {
		byID[l.ID] = i
	}
	promo := out.Labels[byID["CATEGORY_PROMOTIONS"]]
	require.Equal(t, "Promotions", promo.Name)
	require.True(t, promo.System)
	require.EqualValues(t, 2, promo.Messages)
	require.Equal(t, "Inbox", out.Labels[byID["INBOX"]].Name)
	require.True(t, out.Labels[0].System, "Gmail's labels first")
	require.False(t, out.Labels[len(out.Labels)-1].System, "the generated mailbox has user labels, after")

	r = send(t, s.Handler, http.MethodGet, path, nil, http.Header{"Authorization": {"Bearer " + bob}})
	require.Equal(t, http.StatusNotFound, r.Code, "%s", r.Body)

	require.NoError(t, s.Store.AccountSetStatus(ctx, acct.ID, inbox.AccountNeedsReauth))
	r = send(t, s.Handler, http.MethodGet, path, nil, http.Header{"Authorization": {"Bearer " + alice}})
	require.Equal(t, http.StatusConflict, r.Code, "%s", r.Body)
	require.Contains(t, string(r.Body), "ann@example.com needs reconnecting")
}
