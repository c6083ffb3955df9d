package store

import (
	"context"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// QueueOverview returns every queue River knows plus the known names, with
// the counts of the owner's tasks (nil: everyone's).
func (s *Store) QueueOverview(ctx context.Context, known []string, owner *int64) ([]inbox.Queue, error) {
	rows, err := s.planned.QueueOverviewList(ctx, dbsqlc.QueueOverviewListParams{Known: known, Owner: ownerParam(owner)})
	if err != nil {
		return nil, translate(err, "listing queues")
	}
	out := make([]inbox.Queue, len(rows))
	for i, r := range rows {
		out[i] = inbox.Queue{
			Name: r.Name, Paused: r.PausedAt != nil, PausedAt: r.PausedAt,
			Available: r.Available, Running: r.Running, Scheduled: r.Scheduled, Retryable: r.Retryable, Pending: r.Pending,
			OldestWait:          secondsToDuration(r.OldestWaitSeconds),
			CompletedLastMinute: r.CompletedLastMinute, CompletedLastHour: r.CompletedLastHour, FailedLastHour: r.FailedLastHour,
		}
	}
	return out, nil
}

// CurrentSchema returns the schema unqualified names resolve to; NOTIFY
// channels are named after it.
func (s *Store) CurrentSchema(ctx context.Context) (string, error) {
	name, err := s.q.CurrentSchema(ctx)
	return name, translate(err, "reading current schema")
}

// RiverLeaderID returns the id of the River client that currently leads, or
// "" when none does.
func (s *Store) RiverLeaderID(ctx context.Context) (string, error) {
	id, err := s.q.RiverLeaderID(ctx)
	if err != nil {
		if translated := translate(err, "reading leader"); isNotFound(translated) {
			return "", nil
		}
		return "", translate(err, "reading leader")
	}
	return id, nil
}
