package store

import (
	"context"
	"strings"
	"time"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// MessageTarget selects an account's stored messages for a bulk action.
type MessageTarget struct {
	IDs    []string
	Sender string
	Label  string
	Before *time.Time
	// Cluster is a cluster's id in the account (message_cluster.id).
	Cluster string
}

// MessageUpsert saves messages' metadata for an account.
func (s *Store) MessageUpsert(ctx context.Context, account int64, ms []inbox.Message) error {
	if len(ms) == 0 {
		return nil
	}
	p := dbsqlc.MessageUpsertManyParams{AccountID: account}
	for _, m := range ms {
		p.Ids = append(p.Ids, m.ID)
		p.ThreadIds = append(p.ThreadIds, m.ThreadID)
		p.Froms = append(p.Froms, m.From)
		p.Tos = append(p.Tos, m.To)
		p.Subjects = append(p.Subjects, m.Subject)
		p.Snippets = append(p.Snippets, m.Snippet)
		p.DatesMs = append(p.DatesMs, m.Date.UnixMilli())
		p.Labels = append(p.Labels, strings.Join(m.Labels, ","))
		p.Sizes = append(p.Sizes, m.Size)
		p.Unsubscribes = append(p.Unsubscribes, m.ListUnsubscribe)
		p.Auths = append(p.Auths, m.AuthResults)
		p.ListIds = append(p.ListIds, m.ListID)
		p.ListPosts = append(p.ListPosts, m.ListPost)
		p.Precedences = append(p.Precedences, m.Precedence)
		p.HistoryIds = append(p.HistoryIds, int64(m.HistoryID))
	}
	return translate(s.q.MessageUpsertMany(ctx, p), "saving messages")
}

// MessageDelete deletes local copies of messages.
func (s *Store) MessageDelete(ctx context.Context, account int64, ids []string) (int64, error) {
	n, err := s.q.MessageDeleteMany(ctx, dbsqlc.MessageDeleteManyParams{AccountID: account, Ids: ids})
	return n, translate(err, "deleting messages")
}

// MessageCount counts an account's stored messages.
func (s *Store) MessageCount(ctx context.Context, account int64) (int64, error) {
	n, err := s.q.MessageCount(ctx, account)
	return n, translate(err, "counting messages")
}

// MessageIDs lists an account's stored message ids, sorted.
func (s *Store) MessageIDs(ctx context.Context, account int64) ([]string, error) {
	ids, err := s.q.MessageIDs(ctx, account)
	return ids, translate(err, "listing message ids")
}

// MessageSelect returns up to limit target ids after afterID, in id order.
func (s *Store) MessageSelect(ctx context.Context, account int64, t MessageTarget, afterID string, limit int) ([]string, error) {
	ids, err := s.q.MessageSelect(ctx, dbsqlc.MessageSelectParams{AccountID: account, Ids: nonNil(t.IDs), Sender: t.Sender,
		Label: t.Label, Before: t.Before, ClusterID: t.Cluster, AfterID: afterID, MaxRows: int32(limit)})
	return ids, translate(err, "selecting messages")
}

// MessageSelectCount counts the targets after afterID.
func (s *Store) MessageSelectCount(ctx context.Context, account int64, t MessageTarget, afterID string) (int64, error) {
	n, err := s.q.MessageSelectCount(ctx, dbsqlc.MessageSelectCountParams{AccountID: account, Ids: nonNil(t.IDs), Sender: t.Sender,
		Label: t.Label, Before: t.Before, ClusterID: t.Cluster, AfterID: afterID})
	return n, translate(err, "counting messages")
}

// MessageRelabel mirrors a label change locally.
func (s *Store) MessageRelabel(ctx context.Context, account int64, ids, add, remove []string) error {
	return translate(s.q.MessageRelabel(ctx, dbsqlc.MessageRelabelParams{AccountID: account, Ids: ids,
		AddLabels: nonNil(add), RemoveLabels: nonNil(remove)}), "relabelling messages")
}

// MessageIDsAfter returns up to limit stored ids after afterID, in order.
func (s *Store) MessageIDsAfter(ctx context.Context, account int64, afterID string, limit int) ([]string, error) {
	ids, err := s.q.MessageIDsAfter(ctx, dbsqlc.MessageIDsAfterParams{AccountID: account, AfterID: afterID, MaxRows: int32(limit)})
	return ids, translate(err, "listing message ids")
}
