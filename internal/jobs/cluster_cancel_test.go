package jobs_test

import (
	"context"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/gmail/fakegmail"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/store"
)

// cancelledAfter is a context whose Err reports cancellation from its
// n-th call on: the worker checks it between batches, so this cancels it
// after n-1 batches, whatever the machine's speed.
type cancelledAfter struct {
	context.Context
	n, calls int
}

func (c *cancelledAfter) Err() error {
	c.calls++
	if c.calls >= c.n {
		return context.Canceled
	}
	return nil
}

func TestClusterIsCancelledBetweenBatchesAndStoresNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	st := store.New(s.Pool)
	owner, err := st.UserUpsert(ctx, "carol", inbox.RoleUser)
	require.NoError(t, err)
	acct, err := st.AccountUpsert(ctx, owner.UserID, "me@example.com", []string{})
	require.NoError(t, err)
	var ms []inbox.Message
	for _, g := range fakegmail.Generate(3, 1000, fakegmail.GenerateOptions{}).Generated() {
		m := inbox.Message{ID: g.ID, ThreadID: g.ID, From: g.From, Subject: g.Subject, Date: g.Date, Labels: []string{"INBOX"}}
		if g.Unread {
			m.Labels = append(m.Labels, "UNREAD")
		}
		ms = append(ms, m)
	}
	require.NoError(t, st.MessageUpsert(ctx, acct.ID, ms))

	w := jobs.NewClusterWorker(st, inboxqtest.Logger(t), 100)
	job := &river.Job[jobs.ClusterUserEmailsArgs]{JobRow: &rivertype.JobRow{ID: 1},
		Args: jobs.ClusterUserEmailsArgs{AccountArgs: jobs.AccountArgs{Owned: jobs.Owned{OwnerID: owner.UserID}, AccountID: acct.ID}}}
	cctx := &cancelledAfter{Context: ctx, n: 4}
	require.ErrorIs(t, w.Work(cctx, job), context.Canceled)
	require.Equal(t, 4, cctx.calls, "stopped at the check after the third batch")
	var n int
	require.NoError(t, s.Pool.QueryRow(ctx, "SELECT count(*) FROM message_cluster").Scan(&n))
	require.Zero(t, n, "a cancelled run stores nothing")
}
