package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/jobs"
)

// Accounts is what the account operations need: listing and deleting
// accounts, and the OAuth dance with Google.
type Accounts interface {
	List(ctx context.Context, owner int64) ([]inbox.Account, error)
	Delete(ctx context.Context, owner, id int64) error
	// Begin starts a consent: the URL to send the person to and the key
	// their browser must bring back to the callback.
	Begin(ctx context.Context, owner int64) (inbox.Consent, error)
	// Finish completes a consent: it checks state and the browser's key
	// (inbox.ErrConsentExpired, inbox.ErrConsentOtherBrowser) and stores
	// the account.
	Finish(ctx context.Context, state, code, browserKey string) (inbox.Account, error)
	// Labels lists the labels of one of the owner's accounts, from Gmail.
	Labels(ctx context.Context, owner, id int64) ([]inbox.Label, error)
	// CountMessages counts the owner's stored messages a bulk target selects.
	CountMessages(ctx context.Context, owner, account int64, target jobs.BulkTarget) (int64, error)
}

// CountMessagesInput is a bulk target to preview.
type CountMessagesInput struct {
	ID   int64 `path:"id" minimum:"1" doc:"Account id"`
	Body struct {
		Target jobs.BulkTarget `json:"target"`
	}
}

// CountMessagesOutput is how many messages a bulk action would touch.
type CountMessagesOutput struct {
	Body struct {
		Count int64 `json:"count" doc:"Stored messages the target selects now"`
	}
}

// Account is a connected mailbox as the API shows it.
type Account struct {
	ID            int64      `json:"id" doc:"Account id"`
	Email         string     `json:"email" doc:"The Gmail address"`
	Status        string     `json:"status" enum:"connected,needs_reauth,disconnected" doc:"needs_reauth: Google revoked access; connect again"`
	Scopes        []string   `json:"scopes" doc:"OAuth scopes Google granted, e.g. https://www.googleapis.com/auth/gmail.modify"`
	MessagesTotal *int64     `json:"messages_total,omitempty" doc:"Messages seen by the last full sync"`
	FullSyncedAt  *time.Time `json:"full_synced_at,omitempty" doc:"When the last full sync finished; absent before the first"`
	LastSyncedAt  *time.Time `json:"last_synced_at,omitempty" doc:"When the last sync (full or incremental) finished; absent before the first"`
	CreatedAt     time.Time  `json:"created_at" doc:"When the account was first connected"`
}

// Label is one of a mailbox's Gmail labels.
type Label struct {
	ID       string `json:"id" doc:"Gmail's label id, what a bulk target's label takes, e.g. CATEGORY_PROMOTIONS or Label_12"`
	Name     string `json:"name" doc:"The label's name as Gmail shows it, e.g. Promotions"`
	System   bool   `json:"system" doc:"Gmail's own label (Inbox, Promotions...) rather than one the person made"`
	Messages int64  `json:"messages" doc:"Stored messages that carry it (after a sync)"`
}

// LabelListOutput lists an account's labels.
type LabelListOutput struct {
	Body struct {
		Labels []Label `json:"labels" doc:"Gmail's labels first, then the person's by name"`
	}
}

// AccountListOutput lists the caller's accounts.
type AccountListOutput struct {
	Body struct {
		Accounts   []Account `json:"accounts" doc:"Your accounts, oldest first"`
		NextCursor string    `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
	}
}

// consentCookie names the cookie that binds a consent to the browser that
// started it. It is sent only to the callback.
const (
	consentCookie     = "inboxq_oauth"
	consentCookiePath = Prefix + "/accounts/oauth/callback"
)

// Error codes the callback puts in the dashboard URL (besides Google's own,
// such as access_denied), each with a message for the person.
const (
	callbackOtherBrowser = "consent_other_browser"
	callbackExpired      = "consent_expired"
	callbackRefused      = "consent_refused"
)

var callbackMessages = map[string]string{
	callbackOtherBrowser: "This mailbox connection was started in another browser or by someone else, so it was refused. " +
		"Start the connection again from Accounts in this browser.",
	callbackExpired: "This mailbox connection link expired or was already used, so nothing was connected. " +
		"Start the connection again from Accounts.",
	callbackRefused: "Google did not complete the mailbox connection, so nothing was connected. " +
		"Start the connection again from Accounts.",
}

// tlsInput notes whether the request reached inboxq (or the proxy in front
// of it) over TLS, so cookies set in reply are Secure.
type tlsInput struct {
	secure bool
}

// Resolve implements huma.Resolver.
func (in *tlsInput) Resolve(ctx huma.Context) []error {
	in.secure = ctx.TLS() != nil || strings.EqualFold(ctx.Header("X-Forwarded-Proto"), "https")
	return nil
}

// browserCookie is the consent cookie holding key for maxAge seconds
// (negative: delete it). SameSite=Lax because Google's redirect back is a
// top-level navigation from another site, which Strict would strip.
func browserCookie(key string, maxAge int, secure bool) http.Cookie {
	return http.Cookie{Name: consentCookie, Value: key, Path: consentCookiePath, MaxAge: maxAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
}

// ConnectInput starts a consent.
type ConnectInput struct {
	tlsInput
}

// ConnectOutput says where to send the person and binds the consent to
// this browser.
type ConnectOutput struct {
	SetCookie http.Cookie `header:"Set-Cookie" doc:"inboxq_oauth: HttpOnly, sent only to the callback; the callback refuses a consent without it"`
	Body      struct {
		AuthorizeURL string `json:"authorize_url" doc:"Open this in the same browser; Google returns to the callback, which redirects to the dashboard"`
	}
}

// CallbackInput is Google's redirect.
type CallbackInput struct {
	tlsInput
	Code    string `query:"code" maxLength:"2048" doc:"Authorization code from Google; absent when the person declined"`
	State   string `query:"state" maxLength:"256" doc:"The consent's state, as connect-account sent it to Google"`
	Error   string `query:"error" doc:"Set by Google when the person declined"`
	Browser string `cookie:"inboxq_oauth" doc:"Set by connect-account in the browser that started the consent"`
}

// CallbackOutput redirects to the dashboard and forgets the consent cookie.
type CallbackOutput struct {
	Status    int
	Location  string      `header:"Location"`
	SetCookie http.Cookie `header:"Set-Cookie"`
}

// callbackRedirect is the dashboard URL telling the person how a consent
// ended: connected=EMAIL, or error=CODE with error_description when
// inboxq has a message for CODE.
func callbackRedirect(connected, code string) string {
	if connected != "" {
		return "/accounts?connected=" + url.QueryEscape(connected)
	}
	q := url.Values{"error": {code}}
	if msg, ok := callbackMessages[code]; ok {
		q.Set("error_description", msg)
	}
	return "/accounts?" + q.Encode()
}

// storableText reports whether s can be stored as PostgreSQL text: valid
// UTF-8 without NUL bytes.
func storableText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// AccountIDInput names an account.
type AccountIDInput struct {
	ID int64 `path:"id" minimum:"1" doc:"Account id"`
}

func registerAccounts(api huma.API, d Deps) {
	if d.Accounts == nil {
		return
	}
	tags := []string{"Accounts"}
	huma.Register(api, huma.Operation{
		OperationID: "list-accounts", Method: http.MethodGet, Path: Prefix + "/accounts",
		Summary: "List your Gmail accounts", Description: "Your connected mailboxes with their status (connected, needs_reauth, disconnected), scopes and sync times. Tokens are never returned.",
		Tags: tags, Security: bearer,
	}, func(ctx context.Context, in *PageInput) (*AccountListOutput, error) {
		as, err := d.Accounts.List(ctx, principal(ctx).UserID)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &AccountListOutput{}
		// Read whole (a user connects a few mailboxes), then paged.
		as, out.Body.NextCursor, err = pageOf(as, func(a inbox.Account) int64 { return a.ID }, false, in.Cursor, in.Limit)
		if err != nil {
			return nil, err
		}
		out.Body.Accounts = make([]Account, len(as))
		for i, a := range as {
			out.Body.Accounts[i] = Account{ID: a.ID, Email: a.Email, Status: a.Status, Scopes: a.Scopes,
				MessagesTotal: a.MessagesTotal, FullSyncedAt: a.FullSyncedAt, LastSyncedAt: a.LastSyncedAt, CreatedAt: a.CreatedAt}
		}
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "connect-account", Method: http.MethodPost, Path: Prefix + "/accounts/connect",
		Summary: "Connect a Gmail account",
		Description: "Starts Google's OAuth consent (offline access, gmail.modify, PKCE). The returned URL is valid for 10 minutes, " +
			"and only in the browser that made this request: the response sets an HttpOnly cookie the callback requires, " +
			"so a consent link sent to someone else cannot connect their mailbox to your account.",
		Tags: tags, Security: bearer, Errors: []int{http.StatusConflict},
	}, func(ctx context.Context, in *ConnectInput) (*ConnectOutput, error) {
		c, err := d.Accounts.Begin(ctx, principal(ctx).UserID)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &ConnectOutput{SetCookie: browserCookie(c.BrowserKey, int(time.Until(c.Expires).Seconds()), in.secure)}
		out.Body.AuthorizeURL = c.URL
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "oauth-callback", Method: http.MethodGet, Path: Prefix + "/accounts/oauth/callback",
		Summary: "Google's OAuth redirect",
		Description: "Google sends the browser here after consent. If the browser holds the cookie connect-account set, " +
			"inboxq exchanges the code (with its PKCE verifier), stores the account (its refresh token sealed) and redirects to " +
			"`/accounts?connected=EMAIL`. Otherwise nothing is stored and it redirects to `/accounts?error=CODE&error_description=MESSAGE`: " +
			"`" + callbackOtherBrowser + "` (started in another browser or by someone else), `" + callbackExpired + "` (expired or used link), " +
			"`" + callbackRefused + "` (Google refused the code), or Google's own error such as `access_denied`. Either way the cookie is cleared.",
		Tags: tags, DefaultStatus: http.StatusFound, Errors: []int{http.StatusBadRequest},
	}, func(ctx context.Context, in *CallbackInput) (*CallbackOutput, error) {
		if in.Error == "" && (in.Code == "" || in.State == "") {
			return nil, huma.Error400BadRequest("code and state are required")
		}
		if !storableText(in.Code) || !storableText(in.State) {
			return nil, huma.Error400BadRequest("code and state must be UTF-8 text without NUL bytes")
		}
		out := &CallbackOutput{Status: http.StatusFound, SetCookie: browserCookie("", -1, in.secure)}
		if in.Error != "" {
			out.Location = callbackRedirect("", in.Error)
			return out, nil
		}
		a, err := d.Accounts.Finish(ctx, in.State, in.Code, in.Browser)
		switch {
		case errors.Is(err, inbox.ErrConsentOtherBrowser):
			d.Logger.WarnContext(ctx, "oauth_callback_other_browser", slog.Bool("has_cookie", in.Browser != ""))
			out.Location = callbackRedirect("", callbackOtherBrowser)
		case errors.Is(err, inbox.ErrConsentExpired):
			out.Location = callbackRedirect("", callbackExpired)
		case errors.Is(err, inbox.ErrInvalid):
			d.Logger.WarnContext(ctx, "oauth_callback_refused", slog.Any("err", err))
			out.Location = callbackRedirect("", callbackRefused)
		case err != nil:
			return nil, problem(ctx, d.Logger, err)
		default:
			out.Location = callbackRedirect(a.Email, "")
		}
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "count-messages", Method: http.MethodPost, Path: Prefix + "/accounts/{id}/messages/count",
		Summary:     "Preview a bulk action",
		Description: "Counts the account's stored messages that a bulk target (ids, or sender, label and age) selects, before you start the action.",
		Tags:        tags, Security: bearer, Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *CountMessagesInput) (*CountMessagesOutput, error) {
		n, err := d.Accounts.CountMessages(ctx, principal(ctx).UserID, in.ID, in.Body.Target)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &CountMessagesOutput{}
		out.Body.Count = n
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "list-account-labels", Method: http.MethodGet, Path: Prefix + "/accounts/{id}/labels",
		Summary: "List an account's labels",
		Description: "The mailbox's labels as Gmail has them now (one Gmail call), each with its id (what a bulk target's label takes), " +
			"its name, and how many stored messages carry it. 409 when the account needs reconnecting; 503 when Gmail does not answer.",
		Tags: tags, Security: bearer, Errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable},
	}, func(ctx context.Context, in *AccountIDInput) (*LabelListOutput, error) {
		ls, err := d.Accounts.Labels(ctx, principal(ctx).UserID, in.ID)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &LabelListOutput{}
		out.Body.Labels = make([]Label, len(ls))
		for i, l := range ls {
			out.Body.Labels[i] = Label(l)
		}
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "disconnect-account", Method: http.MethodDelete, Path: Prefix + "/accounts/{id}",
		Summary: "Disconnect a Gmail account", Description: "Deletes the account, its sealed token and its stored messages. The mailbox in Gmail is not changed, and exports already made stay downloadable.",
		Tags: tags, Security: bearer, DefaultStatus: http.StatusNoContent, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *AccountIDInput) (*struct{}, error) {
		return nil, problem(ctx, d.Logger, d.Accounts.Delete(ctx, principal(ctx).UserID, in.ID))
	})
}
