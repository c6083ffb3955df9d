package store

import (
	"context"

	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// MessageList returns a page of an owner's messages (queries/message_view.sql).
func (s *Store) MessageList(ctx context.Context, p dbsqlc.MessageListParams) ([]dbsqlc.MessageListRow, error) {
	rows, err := s.q.MessageList(ctx, p)
	return rows, translate(err, "listing messages")
}

// MessageGet returns one of an owner's messages (inbox.ErrNotFound when
// they have no such message).
func (s *Store) MessageGet(ctx context.Context, owner, account int64, id string) (dbsqlc.MessageGetRow, error) {
	r, err := s.q.MessageGet(ctx, dbsqlc.MessageGetParams{OwnerID: owner, AccountID: account, ID: id})
	return r, translate(err, "reading message")
}

// MessageCategoryCounts counts an owner's messages per shown category.
func (s *Store) MessageCategoryCounts(ctx context.Context, owner int64, account *int64) ([]dbsqlc.MessageCategoryCountsRow, error) {
	rows, err := s.q.MessageCategoryCounts(ctx, dbsqlc.MessageCategoryCountsParams{OwnerID: owner, AccountID: account})
	return rows, translate(err, "counting messages")
}
