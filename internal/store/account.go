package store

import (
	"context"
	"time"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

func accountFrom(a dbsqlc.Account) inbox.Account {
	out := inbox.Account{ID: a.ID, OwnerID: a.OwnerID, Email: a.Email, Status: a.Status, Scopes: a.Scopes,
		HistoryID: a.HistoryID, MessagesTotal: a.MessagesTotal, FullSyncedAt: a.FullSyncedAt, LastSyncedAt: a.LastSyncedAt,
		CreatedAt: a.CreatedAt, SealedToken: a.RefreshToken}
	if a.TokenKeyID != nil {
		out.TokenKeyID = *a.TokenKeyID
	}
	return out
}

// AccountUpsert connects a mailbox for its owner (or reconnects it).
func (s *Store) AccountUpsert(ctx context.Context, owner int64, email string, scopes []string) (inbox.Account, error) {
	a, err := s.q.AccountUpsert(ctx, dbsqlc.AccountUpsertParams{OwnerID: owner, Email: email, Scopes: scopes})
	if err != nil {
		return inbox.Account{}, translate(err, "saving account")
	}
	return accountFrom(a), nil
}

// AccountSetToken stores the sealed refresh token.
func (s *Store) AccountSetToken(ctx context.Context, id int64, sealed []byte, keyID string) error {
	return translate(s.q.AccountSetToken(ctx, dbsqlc.AccountSetTokenParams{ID: id, RefreshToken: sealed, TokenKeyID: &keyID}), "saving token")
}

// AccountGet returns an account in the owner scope (nil: any).
func (s *Store) AccountGet(ctx context.Context, id int64, owner *int64) (inbox.Account, error) {
	a, err := s.q.AccountGet(ctx, dbsqlc.AccountGetParams{ID: id, OwnerID: owner})
	if err != nil {
		return inbox.Account{}, translate(err, "getting account")
	}
	return accountFrom(a), nil
}

// AccountList lists accounts in the owner scope (nil: all).
func (s *Store) AccountList(ctx context.Context, owner *int64) ([]inbox.Account, error) {
	rows, err := s.q.AccountList(ctx, owner)
	if err != nil {
		return nil, translate(err, "listing accounts")
	}
	out := make([]inbox.Account, len(rows))
	for i, a := range rows {
		out[i] = accountFrom(a)
	}
	return out, nil
}

// AccountSetStatus changes an account's status; any status but connected
// also forgets its refresh token.
func (s *Store) AccountSetStatus(ctx context.Context, id int64, status string) error {
	return translate(s.q.AccountSetStatus(ctx, dbsqlc.AccountSetStatusParams{ID: id, Status: status}), "setting account status")
}

// AccountFullSynced records a finished full sync.
func (s *Store) AccountFullSynced(ctx context.Context, id int64, historyID uint64, total int64) error {
	h := int64(historyID)
	return translate(s.q.AccountFullSynced(ctx, dbsqlc.AccountFullSyncedParams{ID: id, HistoryID: &h, MessagesTotal: &total}), "recording full sync")
}

// AccountAdvanceHistory moves the incremental cursor, forward only.
func (s *Store) AccountAdvanceHistory(ctx context.Context, id int64, historyID uint64) error {
	h := int64(historyID)
	return translate(s.q.AccountAdvanceHistory(ctx, dbsqlc.AccountAdvanceHistoryParams{ID: id, HistoryID: &h}), "advancing history")
}

// AccountDelete deletes one of the owner's accounts and its messages.
func (s *Store) AccountDelete(ctx context.Context, id, owner int64) error {
	n, err := s.q.AccountDelete(ctx, dbsqlc.AccountDeleteParams{ID: id, OwnerID: owner})
	if err != nil {
		return translate(err, "deleting account")
	}
	if n == 0 {
		return translate(errNoRows, "deleting account")
	}
	return nil
}

// OAuthState is a pending authorization request: who started it, the PKCE
// verifier its code must be exchanged with, and the SHA-256 of the nonce
// the starting browser holds in a cookie.
type OAuthState struct {
	State        string
	UserID       int64
	CodeVerifier string
	BrowserHash  []byte
	ExpiresAt    time.Time
}

// OAuthStateSave remembers an authorization request.
func (s *Store) OAuthStateSave(ctx context.Context, st OAuthState) error {
	return translate(s.q.OAuthStateInsert(ctx, dbsqlc.OAuthStateInsertParams{State: st.State, UserID: st.UserID,
		ExpiresAt: st.ExpiresAt, CodeVerifier: st.CodeVerifier, BrowserHash: st.BrowserHash}), "saving oauth state")
}

// OAuthStateTake consumes an unexpired authorization request made by the
// browser whose nonce hashes to browserHash, returning its user and PKCE
// verifier. No such request is inbox.ErrNotFound; the request then stays
// as it was.
func (s *Store) OAuthStateTake(ctx context.Context, state string, browserHash []byte) (userID int64, verifier string, err error) {
	row, err := s.q.OAuthStateTake(ctx, dbsqlc.OAuthStateTakeParams{State: state, BrowserHash: browserHash})
	return row.UserID, row.CodeVerifier, translate(err, "checking oauth state")
}

// OAuthStatePending reports whether an unexpired authorization request
// with this state exists (whoever's browser it belongs to).
func (s *Store) OAuthStatePending(ctx context.Context, state string) (bool, error) {
	ok, err := s.q.OAuthStatePending(ctx, state)
	return ok, translate(err, "checking oauth state")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
