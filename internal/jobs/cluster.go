package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/inboxq/inboxq/internal/cluster"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/store"
)

// RegisterCluster adds cluster_user_emails to reg.
func RegisterCluster(reg *Registry, st *store.Store, logger *slog.Logger) {
	Add(reg, &ClusterUserEmailsWorker{store: st, logger: logger}, Info{
		Title: "Group mail",
		Description: "Groups an account's stored messages that belong together: each sender with three or more messages " +
			"(a newsletter, a person; a service's notifications one group per kind, such as receipts apart from shipping notices), " +
			"and the subject templates that small senders share (a campaign sent from many addresses). Each group keeps its id " +
			"across runs, and can be archived, labelled or trashed as a whole. A re-run with unchanged mail changes nothing.",
		Check: func(ctx context.Context, st *store.Store, owner int64, args river.JobArgs) error {
			return checkAccount(ctx, st, owner, args.(ClusterUserEmailsArgs).AccountID)
		},
		Result: ClusterResult{}, Example: ClusterUserEmailsArgs{AccountArgs: exampleAccount},
	})
}

// ClusterUserEmailsArgs clusters an account's messages.
type ClusterUserEmailsArgs struct {
	AccountArgs
}

// Kind names the job.
func (ClusterUserEmailsArgs) Kind() string { return "cluster_user_emails" }

// InsertOpts: the classify queue; one per account in flight (a second run
// would compute the same clusters).
func (ClusterUserEmailsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueClassify, Priority: 3, MaxAttempts: 5,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: unfinished}}
}

// ClusterResult is what cluster_user_emails records.
type ClusterResult struct {
	Scanned   int64 `json:"scanned" doc:"Messages read"`
	Clustered int64 `json:"clustered" doc:"Messages in a cluster"`
	Clusters  int   `json:"clusters" doc:"Clusters found"`
	Written   int64 `json:"written" doc:"Clusters new or changed since the last run (0 when the mail did not change)"`
	Deleted   int64 `json:"deleted" doc:"Clusters of the last run no longer found"`
	Moved     int64 `json:"moved" doc:"Messages that joined, left or changed cluster"`
}

// clusterBatch is how many messages one read takes.
const clusterBatch = 5000

// ClusterUserEmailsWorker runs cluster_user_emails.
type ClusterUserEmailsWorker struct {
	WorkerDefaults[ClusterUserEmailsArgs]
	store  *store.Store
	logger *slog.Logger
	batch  int // messages per read; clusterBatch when zero
}

// Timeout: the run is one pass (reads, then one write); 100,000 messages
// take seconds, so this bounds only a stuck one.
func (w *ClusterUserEmailsWorker) Timeout(*river.Job[ClusterUserEmailsArgs]) time.Duration {
	return 15 * time.Minute
}

// Work reads the account's messages in keyset batches (progress per
// batch; cancelling stops between batches and stores nothing), clusters
// them and stores the clusters in one transaction, writing only what
// changed. It keeps no checkpoint: the reads are the cheap part, and a
// retry starts over from a consistent picture rather than one stitched
// from two times.
func (w *ClusterUserEmailsWorker) Work(ctx context.Context, job *river.Job[ClusterUserEmailsArgs]) error {
	a := job.Args
	acct, err := w.store.AccountGet(ctx, a.AccountID, &a.OwnerID)
	if errors.Is(err, inbox.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("account %d is gone", a.AccountID))
	} else if err != nil {
		return err
	}
	rep := progress.From(ctx)
	total, err := w.store.MessageCount(ctx, acct.ID)
	if err != nil {
		return err
	}
	rep.Stage("reading", "")
	rep.SetTotal(total)
	b := cluster.NewBuilder(acct.Email)
	var scanned int64
	after := ""
	for {
		if err := ctx.Err(); err != nil {
			return err // cancelled: nothing stored
		}
		rows, err := w.store.MessageForCluster(ctx, acct.ID, after, cmp.Or(w.batch, clusterBatch))
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			break
		}
		for _, r := range rows {
			b.Add(cluster.Message{ID: r.ID, From: r.FromAddr, Subject: r.Subject, Date: r.InternalDate, Unread: r.Unread})
		}
		scanned += int64(len(rows))
		after = rows[len(rows)-1].ID
		rep.SetTotal(max(total, scanned))
		rep.Set(scanned)
	}
	rep.Stage("clustering", "")
	found := b.Clusters()
	if err := ctx.Err(); err != nil {
		return err
	}
	cs := make([]store.Cluster, len(found))
	var clustered int64
	for i, c := range found {
		cs[i] = store.Cluster{ID: c.ID, Key: c.Key, Label: c.Label, Sender: c.Sender, Terms: c.Terms, Size: c.Size(),
			Unread: c.Unread, First: c.First, Last: c.Last, Members: c.Members}
		clustered += int64(c.Size())
	}
	rep.Stage("saving", "")
	var saved store.ClusterSaved
	err = w.store.InTx(ctx, func(_ pgx.Tx, st *store.Store) error {
		saved, err = st.ClusterSave(ctx, acct.ID, cs)
		return err
	})
	if err != nil {
		return err
	}
	rep.SetTotal(scanned)
	rep.Set(scanned)
	rep.Stage("done", fmt.Sprintf("%s in %s", countOf(clustered, "message"), countOf(int64(len(cs)), "cluster")))
	return RecordOutput(ctx, ClusterResult{Scanned: scanned, Clustered: clustered, Clusters: len(cs),
		Written: saved.Clusters, Deleted: saved.Deleted, Moved: saved.Left + saved.Joined})
}

var clusterIDPattern = regexp.MustCompile(`^([1-9][0-9]{0,18})\.([0-9a-f]{16})$`)

// ClusterID is a cluster's id in the API: its account, a dot, and its id
// in the account ("12.9f86d081884c7d65").
type ClusterID struct {
	Account int64
	ID      string
}

func (c ClusterID) String() string { return strconv.FormatInt(c.Account, 10) + "." + c.ID }

// ParseClusterID reads a ClusterID; field names the input in errors.
func ParseClusterID(s, field string) (ClusterID, error) {
	m := clusterIDPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return ClusterID{}, inbox.Invalid(field, "%q is not a cluster id; ids look like 12.9f86d081884c7d65 (account, then the cluster)", s)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return ClusterID{Account: n, ID: m[2]}, nil
}
