package api_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/api"
	"github.com/inboxq/inboxq/internal/gmail"
	"github.com/inboxq/inboxq/internal/gmail/fakegmail"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/secret"
)

func TestConnectAccountThroughOAuth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := fakegmail.New(fakegmail.Options{RequireAuth: true, ClientID: "cid", ClientSecret: "csec"})
	fake.AddMailbox(fakegmail.Generate(3, 10, fakegmail.GenerateOptions{Address: "ann@example.com"}))
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)

	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}, NoRiverUI: true})
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secret.NewBox(key)
	require.NoError(t, err)
	provider := gmail.NewProvider(gmail.Config{ClientID: "cid", ClientSecret: "csec", RedirectURL: "http://inboxq.test/cb",
		AuthURL: srv.URL + "/auth", TokenURL: srv.URL + "/token", APIBase: srv.URL}, s.Store, box, inboxqtest.Logger(t))
	s.Handler = api.NewHandler(api.Deps{Logger: inboxqtest.Logger(t), Tasks: s.Tasks, Auth: s.Auth, Hub: s.Hub, Accounts: jobs.Accounts{Accounts: gmail.Accounts{P: provider}, Store: s.Store},
		Ready: func(context.Context) error { return nil }})
	_, alice := s.User(t, "alice", false)
	_, bob := s.User(t, "bob", false)

	var start struct {
		AuthorizeURL string `json:"authorize_url"`
	}
	r := s.Do(t, http.MethodPost, "/api/v1/accounts/connect", alice, nil)
	require.Equal(t, http.StatusOK, r.Code, "%s", r.Body)
	r.JSON(t, &start)
	u, err := url.Parse(start.AuthorizeURL)
	require.NoError(t, err)
	q := u.Query()
	require.Equal(t, "cid", q.Get("client_id"))
	require.Equal(t, "offline", q.Get("access_type"))
	require.Equal(t, "consent", q.Get("prompt"))
	require.Contains(t, q.Get("scope"), gmail.ScopeModify)
	state := q.Get("state")
	require.Len(t, state, 32)

	// Google sends the browser back with a code (no bearer token).
	fake.AddAuthCode("code-1", "ann@example.com", fakegmail.ScopeModify)
	r = s.Do(t, http.MethodGet, "/api/v1/accounts/oauth/callback?code=code-1&state="+state, "", nil)
	require.Equal(t, http.StatusFound, r.Code, "%s", r.Body)
	require.Equal(t, "/accounts?connected=ann%40example.com", r.Header.Get("Location"))

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
	fake.AddAuthCode("code-2", "ann@example.com", fakegmail.ScopeModify)
	problemOf(t, s.Do(t, http.MethodGet, "/api/v1/accounts/oauth/callback?code=code-2&state="+state, "", nil), http.StatusUnprocessableEntity)
	problemOf(t, s.Do(t, http.MethodGet, "/api/v1/accounts/oauth/callback?code=code-2&state=forged", "", nil), http.StatusUnprocessableEntity)
	problemOf(t, s.Do(t, http.MethodGet, "/api/v1/accounts/oauth/callback?state=x", "", nil), http.StatusBadRequest)
	r = s.Do(t, http.MethodGet, "/api/v1/accounts/oauth/callback?error=access_denied", "", nil)
	require.Equal(t, "/accounts?error=access_denied", r.Header.Get("Location"))
	s.Do(t, http.MethodGet, "/api/v1/accounts", bob, nil).JSON(t, &list)
	require.Empty(t, list.Accounts)
	problemOf(t, s.Do(t, http.MethodDelete, "/api/v1/accounts/"+itoa(acct.ID), bob, nil), http.StatusNotFound)
	require.Equal(t, http.StatusNoContent, s.Do(t, http.MethodDelete, "/api/v1/accounts/"+itoa(acct.ID), alice, nil).Code)

	// Without a Google client (demo mode) there is nothing to connect.
	demo := gmail.NewProvider(gmail.Config{}, s.Store, box, inboxqtest.Logger(t))
	s.Handler = api.NewHandler(api.Deps{Logger: inboxqtest.Logger(t), Tasks: s.Tasks, Auth: s.Auth, Hub: s.Hub, Accounts: jobs.Accounts{Accounts: gmail.Accounts{P: demo}, Store: s.Store},
		Ready: func(context.Context) error { return nil }})
	problemOf(t, s.Do(t, http.MethodPost, "/api/v1/accounts/connect", alice, nil), http.StatusConflict)
}

func itoa(n int64) string { return fmtInt(n) }
