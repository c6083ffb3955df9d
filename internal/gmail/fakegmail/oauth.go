package fakegmail

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Gmail OAuth scopes the fake enforces.
const (
	// ScopeFull is full mailbox access, required for permanent deletion.
	ScopeFull = "https://mail.google.com/"
	// ScopeModify allows everything but permanent deletion.
	ScopeModify = "https://www.googleapis.com/auth/gmail.modify"
	// ScopeReadonly allows reading messages, labels and history.
	ScopeReadonly = "https://www.googleapis.com/auth/gmail.readonly"
	// ScopeMetadata allows reading ids, labels and headers only: no q in
	// messages.list, no full or raw format.
	ScopeMetadata = "https://www.googleapis.com/auth/gmail.metadata"
	// ScopeLabels allows reading and managing labels only.
	ScopeLabels = "https://www.googleapis.com/auth/gmail.labels"
)

// access is the scope class a route needs.
type access int

const (
	accessRead        access = iota // full, modify, readonly, metadata
	accessLabelsRead                // the above or labels
	accessLabelsWrite               // full, modify or labels
	accessModify                    // full or modify
	accessFull                      // full only
)

// scopeSet is the set of scopes a request was granted.
type scopeSet map[string]bool

func newScopeSet(scopes []string) scopeSet {
	s := make(scopeSet, len(scopes))
	for _, sc := range scopes {
		s[sc] = true
	}
	return s
}

func (s scopeSet) allows(a access) bool {
	full, modify := s[ScopeFull], s[ScopeModify]
	read := full || modify || s[ScopeReadonly] || s[ScopeMetadata]
	switch a {
	case accessRead:
		return read
	case accessLabelsRead:
		return read || s[ScopeLabels]
	case accessLabelsWrite:
		return full || modify || s[ScopeLabels]
	case accessModify:
		return full || modify
	case accessFull:
		return full
	}
	return false
}

// metadataOnly reports whether the only reading scope is gmail.metadata.
func (s scopeSet) metadataOnly() bool {
	return s[ScopeMetadata] && !s[ScopeFull] && !s[ScopeModify] && !s[ScopeReadonly]
}

// grant is what a code or token stands for.
type grant struct {
	user   string
	scopes []string
}

// codeGrant is an authorization code: its grant and, when the consent
// request carried one, its PKCE challenge (RFC 7636).
type codeGrant struct {
	grant
	challenge, method string
}

type refreshGrant struct {
	grant
	revoked bool
}

type accessGrant struct {
	grant
	expires time.Time
	refresh string
}

// authStore holds authorization codes, refresh and access tokens.
type authStore struct {
	mu       sync.Mutex
	seq      int
	codes    map[string]codeGrant
	refreshT map[string]*refreshGrant
	accessT  map[string]accessGrant
}

func newAuthStore() *authStore {
	return &authStore{
		codes:    make(map[string]codeGrant),
		refreshT: make(map[string]*refreshGrant),
		accessT:  make(map[string]accessGrant),
	}
}

func (a *authStore) access(tok string, now time.Time) (grant, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g, ok := a.accessT[tok]
	if !ok || !now.Before(g.expires) {
		return grant{}, false
	}
	return g.grant, true
}

// newTokenLocked returns a fresh token string. Callers hold mu.
func (a *authStore) newTokenLocked(prefix string) string {
	a.seq++
	return fmt.Sprintf("%sfake-%08d", prefix, a.seq)
}

func (s *Server) scopesOrDefault(scopes []string) []string {
	if len(scopes) == 0 {
		return slices.Clone(s.opts.DefaultScopes)
	}
	return slices.Clone(scopes)
}

// AddAuthCode registers a one-time authorization code that /token exchanges
// for tokens of user (a mailbox address) with the given scopes (default:
// Options.DefaultScopes).
func (s *Server) AddAuthCode(code, user string, scopes ...string) {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	s.auth.codes[code] = codeGrant{grant: grant{user: strings.ToLower(user), scopes: s.scopesOrDefault(scopes)}}
}

// Consent plays Google's consent page: user (a mailbox address) grants the
// authorization request authorizeURL describes (client_id, redirect_uri,
// state, scope, code_challenge and code_challenge_method, as built by
// oauth2.Config.AuthCodeURL). It returns where Google would send the
// browser: redirect_uri with a fresh one-time code and the request's state.
// A code issued with a code_challenge is only exchanged with the matching
// code_verifier, as Google does.
func (s *Server) Consent(authorizeURL, user string) (string, error) {
	cg, redirect, state, err := s.parseAuthorize(authorizeURL, user)
	if err != nil {
		return "", err
	}
	s.auth.mu.Lock()
	code := s.auth.newTokenLocked("4/0")
	s.auth.codes[code] = cg
	s.auth.mu.Unlock()
	rq := redirect.Query()
	rq.Set("code", code)
	if state != "" {
		rq.Set("state", state)
	}
	redirect.RawQuery = rq.Encode()
	return redirect.String(), nil
}

// parseAuthorize checks an authorization request as Google's consent page
// does and returns the grant it asks for user, where to send the browser,
// and the request's state.
func (s *Server) parseAuthorize(authorizeURL, user string) (codeGrant, *url.URL, string, error) {
	u, err := url.Parse(authorizeURL)
	if err != nil {
		return codeGrant{}, nil, "", fmt.Errorf("parsing the authorization URL: %w", err)
	}
	q := u.Query()
	if s.opts.ClientID != "" && q.Get("client_id") != s.opts.ClientID {
		return codeGrant{}, nil, "", fmt.Errorf("invalid_client: the OAuth client was not found")
	}
	if q.Get("response_type") != "code" {
		return codeGrant{}, nil, "", fmt.Errorf("unsupported_response_type %q", q.Get("response_type"))
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || !redirect.IsAbs() {
		return codeGrant{}, nil, "", fmt.Errorf("redirect_uri_mismatch: %q", q.Get("redirect_uri"))
	}
	cg := codeGrant{grant: grant{user: strings.ToLower(user), scopes: s.scopesOrDefault(strings.Fields(q.Get("scope")))},
		challenge: q.Get("code_challenge"), method: q.Get("code_challenge_method")}
	if cg.challenge != "" {
		if cg.method == "" {
			cg.method = "plain" // RFC 7636 4.3
		}
		if (cg.method != "S256" && cg.method != "plain") || !pkceText.MatchString(cg.challenge) {
			return codeGrant{}, nil, "", fmt.Errorf("invalid_request: bad code_challenge %q (method %q)", cg.challenge, cg.method)
		}
	}
	return cg, redirect, q.Get("state"), nil
}

// pkceText is a code_verifier's (and an S256 code_challenge's) syntax:
// 43 to 128 unreserved characters (RFC 7636 4.1).
var pkceText = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// verify checks a token request's code_verifier against the code's
// challenge: "" when it holds, else Google's error description.
func (c codeGrant) verify(verifier string) string {
	switch {
	case c.challenge == "":
		return ""
	case verifier == "":
		return "Missing code verifier."
	case !pkceText.MatchString(verifier):
		return "Invalid code verifier."
	}
	want := verifier
	if c.method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(c.challenge)) != 1 {
		return "Invalid code verifier."
	}
	return ""
}

// IssueRefreshToken creates a refresh token for user as if the user had
// consented, for tests that start from a stored token.
func (s *Server) IssueRefreshToken(user string, scopes ...string) string {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	tok := s.auth.newTokenLocked("1//0")
	s.auth.refreshT[tok] = &refreshGrant{grant: grant{user: strings.ToLower(user), scopes: s.scopesOrDefault(scopes)}}
	return tok
}

// IssueAccessToken creates an access token valid for
// Options.AccessTokenLifetime, for tests using a static token source.
func (s *Server) IssueAccessToken(user string, scopes ...string) string {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	return s.issueAccessLocked(grant{user: strings.ToLower(user), scopes: s.scopesOrDefault(scopes)}, "")
}

func (s *Server) issueAccessLocked(g grant, refresh string) string {
	tok := s.auth.newTokenLocked("ya29.a0")
	s.auth.accessT[tok] = accessGrant{grant: g, expires: s.now().Add(s.opts.AccessTokenLifetime), refresh: refresh}
	return tok
}

// RevokeRefreshToken revokes a refresh token and the access tokens minted
// from it, as a password change or a user removing the app does. It reports
// whether the token existed.
func (s *Server) RevokeRefreshToken(token string) bool {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	return s.revokeLocked(token)
}

func (s *Server) revokeLocked(token string) bool {
	if rg, ok := s.auth.refreshT[token]; ok {
		rg.revoked = true
		for at, g := range s.auth.accessT {
			if g.refresh == token {
				delete(s.auth.accessT, at)
			}
		}
		return true
	}
	if _, ok := s.auth.accessT[token]; ok {
		delete(s.auth.accessT, token)
		return true
	}
	return false
}

// ExpireAccessTokens invalidates every access token, forcing clients to
// refresh.
func (s *Server) ExpireAccessTokens() {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	clear(s.auth.accessT)
}

func writeOAuthError(w http.ResponseWriter, code int, errCode, description string) {
	writeJSON(w, code, map[string]string{"error": errCode, "error_description": description})
}

// handleToken serves POST /token for the authorization_code and
// refresh_token grants.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, rec *RequestRecord) {
	if r.Method != http.MethodPost {
		writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", "Method not allowed")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Could not parse form")
		return
	}
	if e := s.faults.take("oauth.token", r.Method+" "+r.URL.Path, "", s.now()); e != nil {
		rec.Reason = e.reason
		writeOAuthError(w, e.code, "server_error", e.message)
		return
	}
	clientID, clientSecret, hasBasic := r.BasicAuth()
	if !hasBasic {
		clientID, clientSecret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if s.opts.ClientID != "" && (clientID != s.opts.ClientID ||
		subtle.ConstantTimeCompare([]byte(clientSecret), []byte(s.opts.ClientSecret)) != 1) {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "The OAuth client was not found.")
		return
	}

	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	resp := map[string]any{
		"token_type": "Bearer",
		"expires_in": int(s.opts.AccessTokenLifetime / time.Second),
	}
	var g grant
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		code := r.PostForm.Get("code")
		if code == "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: code")
			return
		}
		cg, ok := s.auth.codes[code]
		if !ok {
			writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "Malformed auth code.")
			return
		}
		delete(s.auth.codes, code) // codes are single use, even when the verifier fails
		if msg := cg.verify(r.PostForm.Get("code_verifier")); msg != "" {
			rec.Reason = "invalid_grant"
			writeOAuthError(w, http.StatusBadRequest, "invalid_grant", msg)
			return
		}
		if cg.challenge != "" {
			rec.PKCE = cg.method
		}
		g = cg.grant
		refresh := s.auth.newTokenLocked("1//0")
		s.auth.refreshT[refresh] = &refreshGrant{grant: g}
		resp["refresh_token"] = refresh
		resp["access_token"] = s.issueAccessLocked(g, refresh)
	case "refresh_token":
		refresh := r.PostForm.Get("refresh_token")
		rg, ok := s.auth.refreshT[refresh]
		if !ok || rg.revoked {
			writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
			return
		}
		g = rg.grant
		resp["access_token"] = s.issueAccessLocked(g, refresh)
	case "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: grant_type")
		return
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+gt)
		return
	}
	rec.User = g.user
	resp["scope"] = strings.Join(g.scopes, " ")
	w.Header().Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
	writeJSON(w, http.StatusOK, resp)
}

// handleRevoke serves POST /revoke (form or query token=...).
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Could not parse form")
		return
	}
	if !s.RevokeRefreshToken(r.Form.Get("token")) {
		writeOAuthError(w, http.StatusBadRequest, "invalid_token", "Token expired or revoked")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}
