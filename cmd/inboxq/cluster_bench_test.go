package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/gmail/fakegmail"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
)

// BenchmarkClusterTask100k clusters 100,000 stored messages of a generated
// mailbox (the fake Gmail generator's senders, subjects and dates) with
// cluster_user_emails in a worker process, end to end (reads, clustering,
// the one transaction that stores clusters and memberships; target < 60 s
// and < 500 MB), then runs it again over the same mail, which writes
// nothing.
func BenchmarkClusterTask100k(b *testing.B) {
	for range b.N {
		ctx := context.Background()
		s := inboxqtest.TestSchema(b)
		st := store.New(s.Pool)
		reg := jobs.NewRegistry()
		jobs.RegisterCluster(reg, st, inboxqtest.Logger(b))
		client, err := jobs.NewClient(st, reg, jobs.Config{Schema: s.Name})
		require.NoError(b, err)
		owner, err := st.UserUpsert(ctx, "bench", inbox.RoleUser)
		require.NoError(b, err)
		acct, err := st.AccountUpsert(ctx, owner.UserID, "me@example.com", []string{})
		require.NoError(b, err)
		gen := fakegmail.Generate(1, 100_000, fakegmail.GenerateOptions{}).Generated()
		mail := make([]inbox.Message, len(gen))
		for i, g := range gen {
			mail[i] = inbox.Message{ID: g.ID, ThreadID: g.ID, From: g.From, Subject: g.Subject, Date: g.Date, Labels: []string{"INBOX"}}
			if g.Unread {
				mail[i].Labels = append(mail[i].Labels, "UNREAD")
			}
		}
		for i := 0; i < len(mail); i += 1000 {
			require.NoError(b, st.MessageUpsert(ctx, acct.ID, mail[i:min(i+1000, len(mail))]))
		}
		_, err = s.Pool.Exec(ctx, "VACUUM ANALYZE message")
		require.NoError(b, err)
		svc := tasks.NewService(st, client, reg, inboxqtest.Logger(b))
		env := workerEnv(b, s)
		run := func() (jobs.ClusterResult, time.Duration, int64) {
			_, res, took, rss := workerTask[jobs.ClusterResult](b, svc, owner, "cluster_user_emails", fmt.Sprintf(`{"account_id":%d}`, acct.ID), env)
			return res, took, rss
		}
		res, took, rss := run()
		require.EqualValues(b, 100_000, res.Scanned)
		again, tookAgain, rssAgain := run()
		require.Zero(b, again.Written+again.Deleted+again.Moved)
		b.ReportMetric(took.Seconds(), "task_s")
		b.ReportMetric(float64(rss)/(1<<20), "worker_peak_rss_MB")
		b.ReportMetric(tookAgain.Seconds(), "rerun_s")
		b.Logf("clustered %d messages in %s: %d clusters holding %d messages, worker peak RSS %.1f MB; "+
			"the re-run that writes nothing: %s, %.1f MB", res.Scanned, took.Round(time.Millisecond), res.Clusters, res.Clustered,
			float64(rss)/(1<<20), tookAgain.Round(time.Millisecond), float64(rssAgain)/(1<<20))
	}
}
