package store

import (
	"context"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// ProgressSave stores the progress of tasks and announces each (NOTIFY), in
// one statement.
func (s *Store) ProgressSave(ctx context.Context, ups ...ProgressUpdate) error {
	p := dbsqlc.ProgressSaveManyParams{}
	for _, u := range ups {
		total, owner := int64(-1), int64(0)
		if u.Progress.Total != nil {
			total = *u.Progress.Total
		}
		if u.Owner != nil {
			owner = *u.Owner
		}
		p.JobIds = append(p.JobIds, u.JobID)
		p.Dones = append(p.Dones, u.Progress.Done)
		p.Totals = append(p.Totals, total)
		p.Stages = append(p.Stages, u.Progress.Stage)
		p.Messages = append(p.Messages, u.Progress.Message)
		p.Rates = append(p.Rates, u.Progress.Rate)
		p.Owners = append(p.Owners, owner)
		p.Kinds = append(p.Kinds, u.Kind)
	}
	return translate(s.q.ProgressSaveMany(ctx, p), "saving progress")
}

// ProgressGet returns a task's saved progress.
func (s *Store) ProgressGet(ctx context.Context, jobID int64) (inbox.Progress, error) {
	r, err := s.q.ProgressGet(ctx, jobID)
	if err != nil {
		return inbox.Progress{}, translate(err, "getting progress")
	}
	return inbox.Progress{Done: r.Done, Total: r.Total, Stage: r.Stage, Message: r.Message, Rate: r.Rate, UpdatedAt: r.UpdatedAt}, nil
}
