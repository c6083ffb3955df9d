package gmail

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store"
)

// ConsentLife is how long a started connection waits for Google's callback.
const ConsentLife = 10 * time.Minute

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

// Begin starts a connection for owner: it remembers a random state with a
// PKCE verifier and the hash of a random browser key for ConsentLife, and
// returns Google's consent URL and the key. The key is stored only hashed,
// so reading the table does not let anyone finish someone else's consent.
func (a Accounts) Begin(ctx context.Context, owner int64) (inbox.Consent, error) {
	if !a.P.Configured() {
		return inbox.Consent{}, fmt.Errorf("no Google OAuth client is configured (demo mode): %w", inbox.ErrConflict)
	}
	c := inbox.Consent{BrowserKey: rand.Text(), Expires: time.Now().Add(ConsentLife)}
	state, verifier := rand.Text(), oauth2.GenerateVerifier()
	err := a.P.store.OAuthStateSave(ctx, store.OAuthState{State: state, UserID: owner, CodeVerifier: verifier,
		BrowserHash: browserHash(c.BrowserKey), ExpiresAt: c.Expires})
	if err != nil {
		return inbox.Consent{}, err
	}
	c.URL = a.P.AuthCodeURL(state, verifier)
	return c, nil
}

// Finish completes a consent: state must be unexpired, unused and started
// by the browser holding browserKey; then the code is exchanged with the
// state's PKCE verifier and the account stored for the user who started it.
// A refused callback (inbox.ErrConsentOtherBrowser, inbox.ErrConsentExpired)
// changes nothing: the state stays for its own browser.
func (a Accounts) Finish(ctx context.Context, state, code, browserKey string) (inbox.Account, error) {
	owner, verifier, err := a.P.store.OAuthStateTake(ctx, state, browserHash(browserKey))
	if errors.Is(err, inbox.ErrNotFound) {
		pending, perr := a.P.store.OAuthStatePending(ctx, state)
		switch {
		case perr != nil:
			return inbox.Account{}, perr
		case pending:
			return inbox.Account{}, inbox.ErrConsentOtherBrowser
		}
		return inbox.Account{}, inbox.ErrConsentExpired
	}
	if err != nil {
		return inbox.Account{}, err
	}
	acct, err := a.P.Connect(ctx, owner, code, verifier)
	if err != nil && (errors.Is(err, ErrRevoked) || errors.Is(err, ErrForbidden)) {
		return inbox.Account{}, fmt.Errorf("%w: %w", err, inbox.ErrInvalid)
	}
	return acct, err
}

// browserHash is what the state table keeps of a browser key: its SHA-256,
// or nil (matching no row) for no key.
func browserHash(key string) []byte {
	if key == "" {
		return nil
	}
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}
