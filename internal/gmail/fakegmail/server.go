package fakegmail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Options configures a [Server]. The zero value behaves like Gmail for a
// project that has the pre-2026 per-user quota, with authentication off.
type Options struct {
	// DefaultUser is the mailbox served for "me" when RequireAuth is false.
	// Empty means the first mailbox added.
	DefaultUser string
	// RequireAuth makes every API call need "Authorization: Bearer <token>"
	// issued by this server's /token endpoint. When false (the default, for
	// option.WithoutAuthentication), calls act on DefaultUser with
	// DefaultScopes; a valid bearer token is still honoured if sent.
	RequireAuth bool
	// DefaultScopes are the scopes of unauthenticated calls; default
	// [ScopeFull].
	DefaultScopes []string
	// ClientID and ClientSecret, when set, are checked by /token.
	ClientID, ClientSecret string
	// AccessTokenLifetime is the access token lifetime; default 1h.
	AccessTokenLifetime time.Duration
	// NewMailbox, when set, makes the consent page (/auth) serve an address
	// that has no mailbox yet: it registers NewMailbox(address) first.
	// Without it, the page refuses such an address.
	NewMailbox func(address string) *Mailbox

	// UserUnitsPerMinute is the per-user quota in units per minute; default
	// 15,000 (projects created from 2026-05 get 6,000). Negative disables it.
	UserUnitsPerMinute int
	// ProjectUnitsPerMinute is the per-project quota; default 1,200,000.
	// Negative disables it.
	ProjectUnitsPerMinute int
	// UserRateLimitStatus is the HTTP status of per-user rate-limit errors:
	// 429 (default) or 403, both seen from Gmail.
	UserRateLimitStatus int
	// MaxConcurrentPerUser is the per-user in-flight request limit; default
	// 10. Negative disables it.
	MaxConcurrentPerUser int

	// Now is the clock for quota windows, token expiry, relative search
	// terms and dates of messages added without one; default time.Now.
	Now func() time.Time
	// Latency is added to every API call (it can be changed later with
	// SetLatency).
	Latency time.Duration
	// MaxLogEntries caps the request log (oldest dropped); default 100,000.
	MaxLogEntries int
}

// Server is the fake Gmail API and OAuth endpoint. It implements
// [http.Handler]; all methods are safe for concurrent use.
type Server struct {
	opts   Options
	now    func() time.Time
	routes []route

	mu          sync.RWMutex
	mailboxes   map[string]*Mailbox // by lower-cased address
	defaultUser string

	auth   *authStore
	quota  *quotaState
	faults *faultState
	log    *requestLog
}

// New returns a server without mailboxes; add them with AddMailbox.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DefaultScopes == nil {
		opts.DefaultScopes = []string{ScopeFull}
	}
	if opts.AccessTokenLifetime <= 0 {
		opts.AccessTokenLifetime = time.Hour
	}
	if opts.UserUnitsPerMinute == 0 {
		opts.UserUnitsPerMinute = 15000
	}
	if opts.ProjectUnitsPerMinute == 0 {
		opts.ProjectUnitsPerMinute = 1200000
	}
	if opts.UserRateLimitStatus == 0 {
		opts.UserRateLimitStatus = http.StatusTooManyRequests
	}
	if opts.MaxConcurrentPerUser == 0 {
		opts.MaxConcurrentPerUser = 10
	}
	if opts.MaxLogEntries <= 0 {
		opts.MaxLogEntries = 100000
	}
	s := &Server{
		opts:        opts,
		now:         opts.Now,
		mailboxes:   make(map[string]*Mailbox),
		defaultUser: strings.ToLower(opts.DefaultUser),
		auth:        newAuthStore(),
		quota:       newQuotaState(opts),
		faults:      &faultState{latency: opts.Latency, throttled: make(map[string]throttle)},
		log:         newRequestLog(opts.MaxLogEntries),
	}
	s.routes = apiRoutes()
	return s
}

// AddMailbox registers a mailbox under its address. The first mailbox becomes
// the default user unless Options.DefaultUser names another. Mailboxes
// without a clock get the server's.
func (s *Server) AddMailbox(mb *Mailbox) {
	mb.setClock(s.now)
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(mb.address)
	s.mailboxes[key] = mb
	if s.defaultUser == "" {
		s.defaultUser = key
	}
}

// Mailbox returns the mailbox registered for address, or nil.
func (s *Server) Mailbox(address string) *Mailbox {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.mailboxes[strings.ToLower(address)]
}

// ExpireHistoryBefore drops user's history older than id, so history.list
// with an older startHistoryId answers 404; see [Mailbox.ExpireHistoryBefore].
func (s *Server) ExpireHistoryBefore(user string, id uint64) error {
	mb := s.Mailbox(user)
	if mb == nil {
		return fmt.Errorf("expire history of %s: %w", user, ErrNotFound)
	}
	mb.ExpireHistoryBefore(id)
	return nil
}

// route is one API method.
type route struct {
	method string
	segs   []string // after /gmail/v1/users/; "{x}" is a parameter
	op     string   // Gmail method name, e.g. "messages.get"
	cost   int      // quota units
	access access
	h      func(*call) (any, *apiError)
}

func apiRoutes() []route {
	r := func(method, path, op string, cost int, a access, h func(*call) (any, *apiError)) route {
		return route{method: method, segs: strings.Split(path, "/"), op: op, cost: cost, access: a, h: h}
	}
	return []route{
		r("GET", "{userId}/profile", "getProfile", 1, accessRead, handleProfile),
		r("POST", "{userId}/watch", "watch", 100, accessRead, handleWatch),
		r("POST", "{userId}/stop", "stop", 50, accessRead, handleStop),
		r("GET", "{userId}/messages", "messages.list", 5, accessRead, handleMessagesList),
		r("POST", "{userId}/messages/batchModify", "messages.batchModify", 50, accessModify, handleBatchModify),
		r("POST", "{userId}/messages/batchDelete", "messages.batchDelete", 50, accessFull, handleBatchDelete),
		r("GET", "{userId}/messages/{id}", "messages.get", 5, accessRead, handleMessagesGet),
		r("DELETE", "{userId}/messages/{id}", "messages.delete", 10, accessFull, handleMessagesDelete),
		r("POST", "{userId}/messages/{id}/modify", "messages.modify", 5, accessModify, handleMessagesModify),
		r("POST", "{userId}/messages/{id}/trash", "messages.trash", 5, accessModify, handleMessagesTrash),
		r("POST", "{userId}/messages/{id}/untrash", "messages.untrash", 5, accessModify, handleMessagesUntrash),
		r("GET", "{userId}/messages/{id}/attachments/{aid}", "messages.attachments.get", 5, accessRead, handleAttachmentGet),
		r("GET", "{userId}/history", "history.list", 2, accessRead, handleHistoryList),
		r("GET", "{userId}/labels", "labels.list", 1, accessLabelsRead, handleLabelsList),
		r("POST", "{userId}/labels", "labels.create", 5, accessLabelsWrite, handleLabelsCreate),
		r("GET", "{userId}/labels/{id}", "labels.get", 1, accessLabelsRead, handleLabelsGet),
		r("PUT", "{userId}/labels/{id}", "labels.update", 5, accessLabelsWrite, handleLabelsUpdate),
		r("PATCH", "{userId}/labels/{id}", "labels.patch", 5, accessLabelsWrite, handleLabelsUpdate),
		r("DELETE", "{userId}/labels/{id}", "labels.delete", 5, accessLabelsWrite, handleLabelsDelete),
	}
}

const apiPrefix = "/gmail/v1/users/"

// match finds the route for a request; literal segments win over parameters
// because literal routes are listed first.
func (s *Server) match(method, escapedPath string) (*route, map[string]string) {
	rest, ok := strings.CutPrefix(escapedPath, apiPrefix)
	if !ok {
		return nil, nil
	}
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	for i := range s.routes {
		rt := &s.routes[i]
		if rt.method != method || len(rt.segs) != len(segs) {
			continue
		}
		params := map[string]string{}
		matched := true
		for j, want := range rt.segs {
			got, err := url.PathUnescape(segs[j])
			if err != nil {
				matched = false
				break
			}
			if strings.HasPrefix(want, "{") {
				params[strings.Trim(want, "{}")] = got
			} else if want != got {
				matched = false
				break
			}
		}
		if matched {
			return rt, params
		}
	}
	return nil, nil
}

// call is the state of one API request as seen by a handler.
type call struct {
	r      *http.Request
	mb     *Mailbox
	params map[string]string
	query  url.Values
	scopes scopeSet
	rec    *RequestRecord
	now    time.Time
}

func (c *call) param(name string) string { return c.params[name] }

// decode reads a JSON request body; an empty body decodes as {}.
func (c *call) decode(v any) *apiError {
	body, err := io.ReadAll(io.LimitReader(c.r.Body, 32<<20))
	if err != nil {
		return errInvalid("Could not read request body")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errInvalid("Invalid JSON payload received. %s", err.Error())
	}
	return nil
}

// statusWriter records the status code for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP serves the Gmail API under /gmail/v1/users/ and OAuth under
// /auth (the consent page), /token and /revoke.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &RequestRecord{
		Time:     s.now(),
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
	}
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		rec.Status = sw.status
		s.log.add(*rec)
	}()
	switch r.URL.Path {
	case "/token":
		rec.Operation = "oauth.token"
		s.handleToken(sw, r, rec)
		return
	case "/auth":
		rec.Operation = "oauth.authorize"
		s.handleAuth(sw, r)
		return
	case "/revoke":
		rec.Operation = "oauth.revoke"
		s.handleRevoke(sw, r)
		return
	}
	rt, params := s.match(r.Method, r.URL.EscapedPath())
	if rt == nil {
		e := newAPIError(http.StatusNotFound, "notFound", "Not Found")
		rec.Reason = e.reason
		writeError(sw, e)
		return
	}
	rec.Operation = rt.op
	if err := s.serveAPI(sw, r, rt, params, rec); err != nil {
		rec.Reason = err.reason
		writeError(sw, err)
	}
}

// serveAPI runs the admission pipeline (auth, scopes, faults, concurrency,
// quota, latency) and then the handler.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, rt *route, params map[string]string, rec *RequestRecord) *apiError {
	c := &call{r: r, params: params, query: r.URL.Query(), rec: rec, now: s.now()}
	user, scopes, err := s.principal(r, c.now)
	if err != nil {
		return err
	}
	mb, err := s.resolveMailbox(user, params["userId"])
	if err != nil {
		return err
	}
	c.mb, c.scopes = mb, scopes
	key := strings.ToLower(mb.address)
	rec.User = key
	if !scopes.allows(rt.access) {
		return errInsufficientScope()
	}
	if err := s.faults.take(rt.op, r.Method+" "+r.URL.Path, key, c.now); err != nil {
		return err
	}
	release, err := s.quota.enter(key)
	if err != nil {
		return err
	}
	defer release()
	if err := s.quota.charge(key, rt.cost, c.now); err != nil {
		return err
	}
	rec.Units = rt.cost
	if id := params["id"]; id != "" && strings.HasPrefix(rt.op, "messages.") {
		rec.IDs = []string{id}
	}
	// Read the body first: only then does net/http notice a client that
	// leaves while the call is held below, and cancel its context.
	raw, rerr := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if rerr != nil {
		return errInvalid("Could not read request body")
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	before, after := s.faults.delay(rt.op, r.Method+" "+r.URL.Path, key)
	if err := s.faults.wait(r.Context()); err != nil || sleepCtx(r.Context(), before) != nil {
		return newAPIError(499, "cancelled", "The operation was cancelled.")
	}
	var selector fieldTree
	if fields := c.query.Get("fields"); fields != "" {
		t, ok := parseFields(fields)
		if !ok {
			return errInvalid("Invalid field selection %s", fields)
		}
		selector = t
	}
	body, err := rt.h(c)
	if err != nil {
		return err
	}
	// The call has acted: a client that leaves during this wait does not
	// undo it.
	_ = sleepCtx(r.Context(), after)
	if body == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if selector != nil {
		b, ferr := applyFields(body, selector)
		if ferr != nil {
			return ferr
		}
		writeJSONBytes(w, http.StatusOK, b)
		return nil
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// principal returns the user and scopes a request acts as.
func (s *Server) principal(r *http.Request, now time.Time) (string, scopeSet, *apiError) {
	if tok, ok := bearerToken(r); ok {
		if g, ok := s.auth.access(tok, now); ok {
			return g.user, newScopeSet(g.scopes), nil
		}
		if s.opts.RequireAuth {
			return "", nil, errInvalidCredentials()
		}
	}
	if s.opts.RequireAuth {
		return "", nil, errInvalidCredentials()
	}
	s.mu.RLock()
	user := s.defaultUser
	s.mu.RUnlock()
	return user, newScopeSet(s.opts.DefaultScopes), nil
}

// resolveMailbox maps the {userId} path segment to a mailbox.
func (s *Server) resolveMailbox(user, userID string) (*Mailbox, *apiError) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if userID == "me" || strings.EqualFold(userID, user) {
		mb := s.mailboxes[strings.ToLower(user)]
		if mb == nil {
			return nil, errMailServiceNotEnabled()
		}
		return mb, nil
	}
	if !s.opts.RequireAuth {
		if mb := s.mailboxes[strings.ToLower(userID)]; mb != nil {
			return mb, nil
		}
	}
	return nil, errForbidden("Delegation denied for " + userID)
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// errCancelled is returned by faultState.wait when the client went away.
var errCancelled = errors.New("request cancelled")

// sleepCtx sleeps for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return errCancelled
	}
}
