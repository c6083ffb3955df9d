package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/jobs"
)

// Accounts is what the account operations need: listing and deleting
// accounts, and the OAuth dance with Google.
type Accounts interface {
	List(ctx context.Context, owner int64) ([]inbox.Account, error)
	Delete(ctx context.Context, owner, id int64) error
	// Begin returns the URL to send the person to, remembering state.
	Begin(ctx context.Context, owner int64, state string) (string, error)
	// Finish completes a consent: it checks state and stores the account.
	Finish(ctx context.Context, state, code string) (inbox.Account, error)
	// CountMessages counts the owner's stored messages a bulk target selects.
	CountMessages(ctx context.Context, owner, account int64, target jobs.BulkTarget) (int64, error)
}

// CountMessagesInput is a bulk target to preview.
type CountMessagesInput struct {
	ID   int64 `path:"id" minimum:"1"`
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
	ID            int64      `json:"id"`
	Email         string     `json:"email"`
	Status        string     `json:"status" enum:"connected,needs_reauth,disconnected" doc:"needs_reauth: Google revoked access; connect again"`
	Scopes        []string   `json:"scopes"`
	MessagesTotal *int64     `json:"messages_total,omitempty" doc:"Messages seen by the last full sync"`
	FullSyncedAt  *time.Time `json:"full_synced_at,omitempty"`
	LastSyncedAt  *time.Time `json:"last_synced_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
}

// AccountListOutput lists the caller's accounts.
type AccountListOutput struct {
	Body struct {
		Accounts []Account `json:"accounts"`
	}
}

// ConnectOutput says where to send the person.
type ConnectOutput struct {
	Body struct {
		AuthorizeURL string `json:"authorize_url" doc:"Open this in the browser; Google returns to the callback, which redirects to the dashboard"`
	}
}

// CallbackInput is Google's redirect.
type CallbackInput struct {
	Code  string `query:"code"`
	State string `query:"state"`
	Error string `query:"error" doc:"Set by Google when the person declined"`
}

// CallbackOutput redirects to the dashboard.
type CallbackOutput struct {
	Status   int
	Location string `header:"Location"`
}

// AccountIDInput names an account.
type AccountIDInput struct {
	ID int64 `path:"id" minimum:"1"`
}

func registerAccounts(api huma.API, d Deps) {
	if d.Accounts == nil {
		return
	}
	tags := []string{"Accounts"}
	huma.Register(api, huma.Operation{
		OperationID: "list-accounts", Method: http.MethodGet, Path: Prefix + "/accounts",
		Summary: "List your Gmail accounts", Tags: tags, Security: bearer,
	}, func(ctx context.Context, _ *struct{}) (*AccountListOutput, error) {
		as, err := d.Accounts.List(ctx, principal(ctx).UserID)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &AccountListOutput{}
		out.Body.Accounts = make([]Account, len(as))
		for i, a := range as {
			out.Body.Accounts[i] = Account{ID: a.ID, Email: a.Email, Status: a.Status, Scopes: a.Scopes,
				MessagesTotal: a.MessagesTotal, FullSyncedAt: a.FullSyncedAt, LastSyncedAt: a.LastSyncedAt, CreatedAt: a.CreatedAt}
		}
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "connect-account", Method: http.MethodPost, Path: Prefix + "/accounts/connect",
		Summary:     "Connect a Gmail account",
		Description: "Starts Google's OAuth consent (offline access, gmail.modify). The returned URL is valid for 10 minutes.",
		Tags:        tags, Security: bearer, Errors: []int{http.StatusConflict},
	}, func(ctx context.Context, _ *struct{}) (*ConnectOutput, error) {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		u, err := d.Accounts.Begin(ctx, principal(ctx).UserID, base64.RawURLEncoding.EncodeToString(b))
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &ConnectOutput{}
		out.Body.AuthorizeURL = u
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "oauth-callback", Method: http.MethodGet, Path: Prefix + "/accounts/oauth/callback",
		Summary:     "Google's OAuth redirect",
		Description: "Google sends the browser here after consent; inboxq stores the account (its refresh token sealed) and redirects to the dashboard.",
		Tags:        tags, DefaultStatus: http.StatusFound, Errors: []int{http.StatusBadRequest},
	}, func(ctx context.Context, in *CallbackInput) (*CallbackOutput, error) {
		if in.Error != "" {
			return &CallbackOutput{Status: http.StatusFound, Location: "/accounts?error=" + url.QueryEscape(in.Error)}, nil
		}
		if in.Code == "" || in.State == "" {
			return nil, huma.Error400BadRequest("code and state are required")
		}
		a, err := d.Accounts.Finish(ctx, in.State, in.Code)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		return &CallbackOutput{Status: http.StatusFound, Location: "/accounts?connected=" + url.QueryEscape(a.Email)}, nil
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
		OperationID: "disconnect-account", Method: http.MethodDelete, Path: Prefix + "/accounts/{id}",
		Summary: "Disconnect a Gmail account", Description: "Deletes the account, its sealed token and its stored messages.",
		Tags: tags, Security: bearer, DefaultStatus: http.StatusNoContent, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *AccountIDInput) (*struct{}, error) {
		return nil, problem(ctx, d.Logger, d.Accounts.Delete(ctx, principal(ctx).UserID, in.ID))
	})
}
