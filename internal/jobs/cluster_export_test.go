package jobs

import (
	"log/slog"

	"github.com/inboxq/inboxq/internal/store"
)

// NewClusterWorker is cluster_user_emails' worker reading batch messages
// at a time, for tests that call Work directly.
func NewClusterWorker(st *store.Store, logger *slog.Logger, batch int) *ClusterUserEmailsWorker {
	return &ClusterUserEmailsWorker{store: st, logger: logger, batch: batch}
}
