package store

import (
	"context"

	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// FairQueueSet sets how many of one user's tasks may be ready or running in
// a queue at once; the rest wait as pending (db/migrations/0011_fair_share.sql).
func (s *Store) FairQueueSet(ctx context.Context, queue string, userCap int) error {
	return translate(s.q.FairQueueSet(ctx, dbsqlc.FairQueueSetParams{Queue: queue, UserCap: int32(userCap)}), "setting fair share")
}

// FairSweep admits the pending tasks of users below their cap: the repair
// for a race between concurrent transactions. It returns how many (queue,
// user) pairs it checked.
func (s *Store) FairSweep(ctx context.Context) (int, error) {
	n, err := s.q.FairSweep(ctx)
	return int(n), translate(err, "sweeping fair share")
}
