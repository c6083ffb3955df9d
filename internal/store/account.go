package store

import (
	"context"
	"strings"
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

// MessageUpsert saves messages' metadata for an account.
func (s *Store) MessageUpsert(ctx context.Context, account int64, ms []inbox.Message) error {
	if len(ms) == 0 {
		return nil
	}
	p := dbsqlc.MessageUpsertManyParams{AccountID: account}
	for _, m := range ms {
		p.Ids = append(p.Ids, m.ID)
		p.ThreadIds = append(p.ThreadIds, m.ThreadID)
		p.Froms = append(p.Froms, m.From)
		p.Tos = append(p.Tos, m.To)
		p.Subjects = append(p.Subjects, m.Subject)
		p.Snippets = append(p.Snippets, m.Snippet)
		p.DatesMs = append(p.DatesMs, m.Date.UnixMilli())
		p.Labels = append(p.Labels, strings.Join(m.Labels, ","))
		p.Sizes = append(p.Sizes, m.Size)
		p.Unsubscribes = append(p.Unsubscribes, m.ListUnsubscribe)
		p.Auths = append(p.Auths, m.AuthResults)
		p.HistoryIds = append(p.HistoryIds, int64(m.HistoryID))
	}
	return translate(s.q.MessageUpsertMany(ctx, p), "saving messages")
}

// MessageDelete deletes local copies of messages.
func (s *Store) MessageDelete(ctx context.Context, account int64, ids []string) (int64, error) {
	n, err := s.q.MessageDeleteMany(ctx, dbsqlc.MessageDeleteManyParams{AccountID: account, Ids: ids})
	return n, translate(err, "deleting messages")
}

// MessageCount counts an account's stored messages.
func (s *Store) MessageCount(ctx context.Context, account int64) (int64, error) {
	n, err := s.q.MessageCount(ctx, account)
	return n, translate(err, "counting messages")
}

// MessageIDs lists an account's stored message ids, sorted.
func (s *Store) MessageIDs(ctx context.Context, account int64) ([]string, error) {
	ids, err := s.q.MessageIDs(ctx, account)
	return ids, translate(err, "listing message ids")
}

// QuotaTake takes units from a quota bucket refilled at rate per second up
// to burst; it returns how long to wait first (0: taken).
func (s *Store) QuotaTake(ctx context.Context, bucket string, units, rate, burst float64) (time.Duration, error) {
	secs, err := s.q.QuotaTake(ctx, dbsqlc.QuotaTakeParams{Bucket: bucket, Units: units, Rate: rate, Burst: burst})
	if err != nil {
		return 0, translate(err, "taking quota")
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// QuotaPeek returns a bucket's tokens now without taking any; an unknown
// bucket is full (burst).
func (s *Store) QuotaPeek(ctx context.Context, bucket string, rate, burst float64) (float64, error) {
	n, err := s.q.QuotaPeek(ctx, dbsqlc.QuotaPeekParams{Bucket: bucket, Rate: rate, Burst: burst})
	return n, translate(err, "reading quota")
}

// QuotaBucket is one token bucket: refilled at Rate units per second up to
// Burst.
type QuotaBucket struct {
	Name        string
	Rate, Burst float64
}

// QuotaTakeAll takes units from every bucket or from none; it returns how
// long to wait first (0: taken) and the bucket that imposes the wait.
func (s *Store) QuotaTakeAll(ctx context.Context, units float64, buckets ...QuotaBucket) (time.Duration, string, error) {
	p := dbsqlc.QuotaTakeAllParams{Units: units}
	for _, b := range buckets {
		p.Buckets, p.Rates, p.Bursts = append(p.Buckets, b.Name), append(p.Rates, b.Rate), append(p.Bursts, b.Burst)
	}
	r, err := s.q.QuotaTakeAll(ctx, p)
	if err != nil {
		return 0, "", translate(err, "taking quota")
	}
	return time.Duration(r.WaitSeconds * float64(time.Second)), r.Bucket, nil
}

// QuotaBlock stops calls for a bucket until a time.
func (s *Store) QuotaBlock(ctx context.Context, bucket string, until time.Time) error {
	return translate(s.q.QuotaBlock(ctx, dbsqlc.QuotaBlockParams{Bucket: bucket, Until: &until}), "blocking quota")
}

// MessageTarget selects an account's stored messages for a bulk action.
type MessageTarget struct {
	IDs    []string
	Sender string
	Label  string
	Before *time.Time
}

// MessageSelect returns up to limit target ids after afterID, in id order.
func (s *Store) MessageSelect(ctx context.Context, account int64, t MessageTarget, afterID string, limit int) ([]string, error) {
	ids, err := s.q.MessageSelect(ctx, dbsqlc.MessageSelectParams{AccountID: account, Ids: nonNil(t.IDs), Sender: t.Sender,
		Label: t.Label, Before: t.Before, AfterID: afterID, MaxRows: int32(limit)})
	return ids, translate(err, "selecting messages")
}

// MessageSelectCount counts the targets after afterID.
func (s *Store) MessageSelectCount(ctx context.Context, account int64, t MessageTarget, afterID string) (int64, error) {
	n, err := s.q.MessageSelectCount(ctx, dbsqlc.MessageSelectCountParams{AccountID: account, Ids: nonNil(t.IDs), Sender: t.Sender,
		Label: t.Label, Before: t.Before, AfterID: afterID})
	return n, translate(err, "counting messages")
}

// MessageRelabel mirrors a label change locally.
func (s *Store) MessageRelabel(ctx context.Context, account int64, ids, add, remove []string) error {
	return translate(s.q.MessageRelabel(ctx, dbsqlc.MessageRelabelParams{AccountID: account, Ids: ids,
		AddLabels: nonNil(add), RemoveLabels: nonNil(remove)}), "relabelling messages")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// MessageIDsAfter returns up to limit stored ids after afterID, in order.
func (s *Store) MessageIDsAfter(ctx context.Context, account int64, afterID string, limit int) ([]string, error) {
	ids, err := s.q.MessageIDsAfter(ctx, dbsqlc.MessageIDsAfterParams{AccountID: account, AfterID: afterID, MaxRows: int32(limit)})
	return ids, translate(err, "listing message ids")
}
