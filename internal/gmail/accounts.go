package gmail

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/inboxq/inboxq/internal/inbox"
)

// Accounts implements the API's account operations on a Provider.
type Accounts struct {
	P *Provider
}

// List returns the owner's accounts.
func (a Accounts) List(ctx context.Context, owner int64) ([]inbox.Account, error) {
	return a.P.store.AccountList(ctx, &owner)
}

// Delete removes one of the owner's accounts with its messages.
func (a Accounts) Delete(ctx context.Context, owner, id int64) error {
	return a.P.store.AccountDelete(ctx, id, owner)
}

// Begin remembers state for ten minutes and returns Google's consent URL.
func (a Accounts) Begin(ctx context.Context, owner int64, state string) (string, error) {
	if !a.P.Configured() {
		return "", fmt.Errorf("no Google OAuth client is configured (demo mode): %w", inbox.ErrConflict)
	}
	if err := a.P.store.OAuthStateSave(ctx, state, owner, time.Now().Add(10*time.Minute)); err != nil {
		return "", err
	}
	return a.P.AuthCodeURL(state), nil
}

// Finish checks state (once, unexpired) and connects the account.
func (a Accounts) Finish(ctx context.Context, state, code string) (inbox.Account, error) {
	owner, err := a.P.store.OAuthStateTake(ctx, state)
	if errors.Is(err, inbox.ErrNotFound) {
		return inbox.Account{}, fmt.Errorf("the consent link expired or was already used; connect again: %w", inbox.ErrInvalid)
	}
	if err != nil {
		return inbox.Account{}, err
	}
	acct, err := a.P.Connect(ctx, owner, code)
	if err != nil && (errors.Is(err, ErrRevoked) || errors.Is(err, ErrForbidden)) {
		return inbox.Account{}, fmt.Errorf("%w: %w", err, inbox.ErrInvalid)
	}
	return acct, err
}
