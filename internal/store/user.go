package store

import (
	"context"
	"time"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// UserUpsert creates a user, or returns the existing one; asking for admin
// makes an existing user admin (it never demotes).
func (s *Store) UserUpsert(ctx context.Context, name string, role inbox.Role) (inbox.Principal, error) {
	u, err := s.q.UserUpsert(ctx, dbsqlc.UserUpsertParams{Name: name, Role: string(role)})
	if err != nil {
		return inbox.Principal{}, translate(err, "saving user")
	}
	return inbox.Principal{UserID: u.ID, Name: u.Name, Role: inbox.Role(u.Role)}, nil
}

// UserGetByName returns a user by name.
func (s *Store) UserGetByName(ctx context.Context, name string) (inbox.Principal, error) {
	u, err := s.q.UserGetByName(ctx, name)
	if err != nil {
		return inbox.Principal{}, translate(err, "getting user")
	}
	return inbox.Principal{UserID: u.ID, Name: u.Name, Role: inbox.Role(u.Role)}, nil
}

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

// TokenInsert stores a token's hash. purpose is "api", or "events" for
// short-lived tokens that only open event streams.
func (s *Store) TokenInsert(ctx context.Context, userID int64, name string, hash []byte, prefix string, expires *time.Time, purpose string) (Token, error) {
	t, err := s.q.TokenInsert(ctx, dbsqlc.TokenInsertParams{UserID: userID, Name: name, Hash: hash, Prefix: prefix, ExpiresAt: expires, Purpose: purpose})
	if err != nil {
		return Token{}, translate(err, "saving token")
	}
	return Token{ID: t.ID, UserID: t.UserID, Name: t.Name, Prefix: t.Prefix, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}, nil
}

// TokenAuthenticate returns the principal of the live token with this
// hash, the token's id and its purpose.
func (s *Store) TokenAuthenticate(ctx context.Context, hash []byte) (inbox.Principal, int64, string, error) {
	r, err := s.q.TokenAuthenticate(ctx, hash)
	if err != nil {
		return inbox.Principal{}, 0, "", translate(err, "authenticating")
	}
	return inbox.Principal{UserID: r.UserID, Name: r.UserName, Role: inbox.Role(r.Role)}, r.TokenID, r.Purpose, nil
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

// TokenRevoke revokes a token; ErrNotFound when no live token has the id.
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

// UserGetByID returns a user by id.
func (s *Store) UserGetByID(ctx context.Context, id int64) (inbox.Principal, error) {
	u, err := s.q.UserGetByID(ctx, id)
	if err != nil {
		return inbox.Principal{}, translate(err, "getting user")
	}
	return inbox.Principal{UserID: u.ID, Name: u.Name, Role: inbox.Role(u.Role)}, nil
}
