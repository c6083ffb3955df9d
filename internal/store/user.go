package store

import (
	"context"

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

// UserGetByID returns a user by id.
func (s *Store) UserGetByID(ctx context.Context, id int64) (inbox.Principal, error) {
	u, err := s.q.UserGetByID(ctx, id)
	if err != nil {
		return inbox.Principal{}, translate(err, "getting user")
	}
	return inbox.Principal{UserID: u.ID, Name: u.Name, Role: inbox.Role(u.Role)}, nil
}
