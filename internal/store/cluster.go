package store

import (
	"context"
	"strings"
	"time"

	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// ClusterRow is what clustering reads of a stored message.
type ClusterRow = dbsqlc.MessageForClusterRow

// MessageForCluster returns up to limit of an account's messages after
// afterID in id order.
func (s *Store) MessageForCluster(ctx context.Context, account int64, afterID string, limit int) ([]ClusterRow, error) {
	rows, err := s.q.MessageForCluster(ctx, dbsqlc.MessageForClusterParams{AccountID: account, AfterID: afterID, MaxRows: int32(limit)})
	return rows, translate(err, "reading messages to cluster")
}

// Cluster is a stored cluster of an account's messages.
type Cluster struct {
	AccountID   int64
	ID          string
	Key         string
	Label       string
	Sender      string
	Terms       []string
	Size        int
	Unread      int
	First, Last time.Time
	UpdatedAt   time.Time
	// Examples are the subjects of its newest messages (lists only).
	Examples []string
	// Members are its messages' ids (saving only).
	Members []string
}

// ClusterSaved counts what ClusterSave wrote.
type ClusterSaved struct {
	Clusters, Deleted, Left, Joined int64
}

// Changed reports whether anything was written.
func (c ClusterSaved) Changed() bool { return c.Clusters+c.Deleted+c.Left+c.Joined > 0 }

// ClusterSave replaces an account's clusters with cs, writing only what
// changed: clusters that differ, clusters gone, memberships that moved.
// Call it in a transaction (InTx) so readers see one run or the other.
func (s *Store) ClusterSave(ctx context.Context, account int64, cs []Cluster) (ClusterSaved, error) {
	var out ClusterSaved
	p := dbsqlc.ClusterUpsertManyParams{AccountID: account, Ids: []string{}, Keys: []string{}, Labels: []string{}, Senders: []string{},
		Terms: []string{}, Sizes: []int32{}, Unreads: []int32{}, Firsts: []time.Time{}, Lasts: []time.Time{}}
	var mids, cids []string
	for _, c := range cs {
		p.Ids = append(p.Ids, c.ID)
		p.Keys = append(p.Keys, c.Key)
		p.Labels = append(p.Labels, c.Label)
		p.Senders = append(p.Senders, c.Sender)
		p.Terms = append(p.Terms, strings.Join(c.Terms, ","))
		p.Sizes = append(p.Sizes, int32(c.Size))
		p.Unreads = append(p.Unreads, int32(c.Unread))
		p.Firsts = append(p.Firsts, c.First)
		p.Lasts = append(p.Lasts, c.Last)
		for _, m := range c.Members {
			mids = append(mids, m)
			cids = append(cids, c.ID)
		}
	}
	var err error
	if out.Clusters, err = s.q.ClusterUpsertMany(ctx, p); err != nil {
		return out, translate(err, "saving clusters")
	}
	if out.Deleted, err = s.q.ClusterDeleteMissing(ctx, dbsqlc.ClusterDeleteMissingParams{AccountID: account, Ids: p.Ids}); err != nil {
		return out, translate(err, "deleting clusters")
	}
	if out.Left, err = s.q.ClusterMemberDeleteMoved(ctx, dbsqlc.ClusterMemberDeleteMovedParams{AccountID: account,
		MessageIds: nonNil(mids), ClusterIds: nonNil(cids)}); err != nil {
		return out, translate(err, "deleting cluster members")
	}
	if out.Joined, err = s.q.ClusterMemberInsertMany(ctx, dbsqlc.ClusterMemberInsertManyParams{AccountID: account,
		MessageIds: nonNil(mids), ClusterIds: nonNil(cids)}); err != nil {
		return out, translate(err, "saving cluster members")
	}
	return out, nil
}

func clusterOf(c dbsqlc.MessageCluster) Cluster {
	return Cluster{AccountID: c.AccountID, ID: c.ID, Key: c.Key, Label: c.Label, Sender: c.Sender, Terms: c.Terms,
		Size: int(c.Size), Unread: int(c.Unread), First: c.FirstAt, Last: c.LastAt, UpdatedAt: c.UpdatedAt}
}

// ClusterList returns a page of the owner's clusters (of one account, if
// given), biggest first, skipping skip.
func (s *Store) ClusterList(ctx context.Context, owner int64, account *int64, skip, limit int) ([]Cluster, error) {
	rows, err := s.q.ClusterList(ctx, dbsqlc.ClusterListParams{OwnerID: owner, AccountID: account, Skip: int32(skip), MaxRows: int32(limit)})
	if err != nil {
		return nil, translate(err, "listing clusters")
	}
	out := make([]Cluster, len(rows))
	for i, r := range rows {
		out[i] = clusterOf(dbsqlc.MessageCluster{AccountID: r.AccountID, ID: r.ID, Key: r.Key, Label: r.Label, Sender: r.Sender,
			Terms: r.Terms, Size: r.Size, Unread: r.Unread, FirstAt: r.FirstAt, LastAt: r.LastAt, UpdatedAt: r.UpdatedAt})
		out[i].Examples = r.Examples
	}
	return out, nil
}

// ClusterGet returns one of the owner's clusters (inbox.ErrNotFound if it
// is not theirs or does not exist).
func (s *Store) ClusterGet(ctx context.Context, owner, account int64, id string) (Cluster, error) {
	r, err := s.q.ClusterGet(ctx, dbsqlc.ClusterGetParams{OwnerID: owner, AccountID: account, ID: id})
	if err != nil {
		return Cluster{}, translate(err, "getting cluster")
	}
	return clusterOf(r), nil
}

// ClusterMessageRow is one of a cluster's messages.
type ClusterMessageRow = dbsqlc.ClusterMessagesRow

// ClusterMessages returns up to limit of a cluster's messages, newest
// first. Check the owner with ClusterGet first.
func (s *Store) ClusterMessages(ctx context.Context, account int64, id string, limit int) ([]ClusterMessageRow, error) {
	rows, err := s.q.ClusterMessages(ctx, dbsqlc.ClusterMessagesParams{AccountID: account, ClusterID: id, MaxRows: int32(limit)})
	return rows, translate(err, "listing a cluster's messages")
}
