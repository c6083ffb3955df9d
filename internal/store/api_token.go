package store

import (
	"context"
	"time"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// Token is an API token's record (never the token itself).
type Token struct {
	ID         int64
	UserID     int64
	User       string
	Name       string
	Prefix     string
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// NewToken is a token to store: only its hash and a short prefix.
type NewToken struct {
	UserID    int64
	Name      string
	Hash      []byte
	Prefix    string
	ExpiresAt *time.Time
	// Purpose is "api", or "events" for short-lived tokens that only open
	// event streams.
	Purpose string
	// ParentID is the token that minted this one (events tokens): this one
	// is live only while the parent is.
	ParentID *int64
}

// LiveToken is what a presented, live token is.
type LiveToken struct {
	User     inbox.Principal
	ID       int64
	ParentID *int64 // the token that minted it (events tokens)
	Purpose  string
}

// TokenInsert stores a token's hash.
func (s *Store) TokenInsert(ctx context.Context, n NewToken) (Token, error) {
	t, err := s.q.TokenInsert(ctx, dbsqlc.TokenInsertParams{UserID: n.UserID, Name: n.Name, Hash: n.Hash, Prefix: n.Prefix,
		ExpiresAt: n.ExpiresAt, Purpose: n.Purpose, ParentID: n.ParentID})
	if err != nil {
		return Token{}, translate(err, "saving token")
	}
	return Token{ID: t.ID, UserID: t.UserID, Name: t.Name, Prefix: t.Prefix, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}, nil
}

// TokenAuthenticate returns the live token with this hash (ErrNotFound when
// none is: unknown, revoked, expired, or its parent is).
func (s *Store) TokenAuthenticate(ctx context.Context, hash []byte) (LiveToken, error) {
	r, err := s.q.TokenAuthenticate(ctx, hash)
	if err != nil {
		return LiveToken{}, translate(err, "authenticating")
	}
	return LiveToken{User: inbox.Principal{UserID: r.UserID, Name: r.UserName, Role: inbox.Role(r.Role)},
		ID: r.TokenID, ParentID: r.ParentID, Purpose: r.Purpose}, nil
}

// TokenStillValid reports whether what the token opened may go on: neither
// it nor its parent is revoked or expired (an events token's own expiry
// only bounds when it may be presented).
func (s *Store) TokenStillValid(ctx context.Context, id int64) (bool, error) {
	ok, err := s.q.TokenStillValid(ctx, id)
	return ok, translate(err, "checking token")
}

// TokenTouch records that a token was used (at most once a minute).
func (s *Store) TokenTouch(ctx context.Context, id int64) error {
	return translate(s.q.TokenTouch(ctx, id), "touching token")
}

// TokenList lists tokens, of one user when user is not empty.
func (s *Store) TokenList(ctx context.Context, user string) ([]Token, error) {
	var name *string
	if user != "" {
		name = &user
	}
	rows, err := s.q.TokenList(ctx, name)
	if err != nil {
		return nil, translate(err, "listing tokens")
	}
	out := make([]Token, len(rows))
	for i, t := range rows {
		out[i] = Token{ID: t.ID, UserID: t.UserID, User: t.UserName, Name: t.Name, Prefix: t.Prefix,
			CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt, LastUsedAt: t.LastUsedAt}
	}
	return out, nil
}

// TokenRevoke revokes a token and the events tokens it minted; ErrNotFound
// when no live token has the id.
func (s *Store) TokenRevoke(ctx context.Context, id int64) error {
	n, err := s.q.TokenRevoke(ctx, id)
	if err != nil {
		return translate(err, "revoking token")
	}
	if n == 0 {
		return translate(errNoRows, "revoking token")
	}
	return nil
}

// TokenDeleteDead deletes tokens that expired before expiredBefore or were
// revoked before revokedBefore.
func (s *Store) TokenDeleteDead(ctx context.Context, expiredBefore, revokedBefore time.Time) (int64, error) {
	n, err := s.q.TokenDeleteDead(ctx, dbsqlc.TokenDeleteDeadParams{ExpiredBefore: &expiredBefore, RevokedBefore: &revokedBefore})
	return n, translate(err, "deleting dead tokens")
}
