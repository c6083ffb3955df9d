package messages

import (
	"context"
	"fmt"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
)

// Cluster is a group of a person's messages that belong together, as
// cluster_user_emails last found it.
type Cluster struct {
	store.Cluster
	ID jobs.ClusterID
}

// Clusters returns a page of the owner's clusters (of one account, if
// given), biggest first, and the cursor of the next page ("" on the last).
func (s Service) Clusters(ctx context.Context, owner int64, account *int64, cursor string, limit int) ([]Cluster, string, error) {
	skip := 0
	if cursor != "" {
		n, err := tasks.DecodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		skip = int(n) // cluster lists page by position: "t<skip>"
	}
	rows, err := s.Store.ClusterList(ctx, owner, account, skip, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = tasks.EncodeCursor(int64(skip + limit))
	}
	out := make([]Cluster, len(rows))
	for i, r := range rows {
		out[i] = Cluster{Cluster: r, ID: jobs.ClusterID{Account: r.AccountID, ID: r.ID}}
	}
	return out, next, nil
}

// ClusterDetail is a cluster with its newest messages.
type ClusterDetail struct {
	Cluster
	Messages []Message
}

// Cluster returns one of the owner's clusters with up to limit of its
// newest messages (inbox.ErrNotFound for another person's).
func (s Service) Cluster(ctx context.Context, owner int64, id string, limit int) (ClusterDetail, error) {
	cid, err := jobs.ParseClusterID(id, "path.id")
	if err != nil {
		return ClusterDetail{}, fmt.Errorf("no such cluster: %w", inbox.ErrNotFound)
	}
	c, err := s.Store.ClusterGet(ctx, owner, cid.Account, cid.ID)
	if err != nil {
		return ClusterDetail{}, err
	}
	rows, err := s.Store.ClusterMessages(ctx, cid.Account, cid.ID, limit)
	if err != nil {
		return ClusterDetail{}, err
	}
	d := ClusterDetail{Cluster: Cluster{Cluster: c, ID: cid}, Messages: make([]Message, len(rows))}
	for i, r := range rows {
		m := Message{Key: Key{r.AccountID, r.ID}, ThreadID: r.ThreadID, From: r.FromAddr, To: r.ToAddr, Subject: r.Subject,
			Snippet: r.Snippet, Date: r.InternalDate, Labels: r.LabelIds}
		m.Category, m.Confidence, m.Source, m.Rule = shown(r.ShownCategory, r.CorrectedCategory, r.Confidence, r.CategorySource, r.CategoryRule)
		if r.CorrectedCategory == nil && r.ShownCategory == nil {
			m.Source = ""
		}
		d.Messages[i] = m
	}
	return d, nil
}
