// Package account is the account service the API calls: connecting,
// listing and deleting Gmail accounts (gmail.Accounts), and previewing how
// many stored messages a bulk action's target selects.
package account

import (
	"context"
	"time"

	"github.com/inboxq/inboxq/internal/gmail"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/store"
)

// Service is the account service.
type Service struct {
	gmail.Accounts
	Store *store.Store
}

// CountMessages counts the owner's stored messages a bulk target selects.
func (s Service) CountMessages(ctx context.Context, owner, account int64, t jobs.BulkTarget) (int64, error) {
	if err := t.Check(); err != nil {
		return 0, err
	}
	if _, err := s.Store.AccountGet(ctx, account, &owner); err != nil {
		return 0, err
	}
	if err := t.CheckCluster(ctx, s.Store, owner, account); err != nil {
		return 0, err
	}
	return s.Store.MessageSelectCount(ctx, account, t.StoreTarget(time.Now()), "")
}
