package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
)

// benchMailbox stores benchMail(n) for a new user of schema s, with the
// evidence sender reputation reads: a third unread, a seventh archived
// (no INBOX), authentication results (the prize senders' failing).
func benchMailbox(b *testing.B, s inboxqtest.Schema, st *store.Store, name string, n int) (inbox.Principal, inbox.Account) {
	b.Helper()
	ctx := context.Background()
	owner, err := st.UserUpsert(ctx, name, inbox.RoleUser)
	require.NoError(b, err)
	acct, err := st.AccountUpsert(ctx, owner.UserID, name+"@example.com", []string{})
	require.NoError(b, err)
	mail := benchMail(n)
	for i := range mail {
		m := &mail[i]
		if i%3 == 0 {
			m.Labels = append(m.Labels, "UNREAD")
		}
		if i%7 == 0 {
			m.Labels = m.Labels[1:] // archived: INBOX is first
		}
		m.AuthResults = "mx.google.com; spf=pass; dkim=pass; dmarc=pass"
		if i%6 == 5 {
			m.AuthResults = "mx.google.com; spf=fail; dkim=none; dmarc=fail"
		}
	}
	for i := 0; i < len(mail); i += 1000 {
		require.NoError(b, st.MessageUpsert(ctx, acct.ID, mail[i:min(i+1000, len(mail))]))
	}
	// Each message's evidence dates from its arrival, as in a mailbox
	// synced over time (storing it all now would put every message in the
	// 5 minutes an incremental reputation run reads again).
	_, err = s.Pool.Exec(ctx, "UPDATE message SET evidence_at = internal_date WHERE account_id = $1", acct.ID)
	require.NoError(b, err)
	_, err = s.Pool.Exec(ctx, "VACUUM ANALYZE message")
	require.NoError(b, err)
	return owner, acct
}

// BenchmarkReputationTask100k scores the senders of 100,000 stored
// messages with update_sender_reputation in
// a worker process, end to end: the first run, which recounts every
// sender; an incremental run after a person read 300 messages of 30
// senders (what a sync's label changes bring), which recounts those
// alone; and a run with nothing new, which writes nothing (it reads the
// last 5 minutes' senders again).
func BenchmarkReputationTask100k(b *testing.B) {
	for range b.N {
		ctx := context.Background()
		s := inboxqtest.TestSchema(b)
		st := store.New(s.Pool)
		reg := jobs.NewRegistry()
		jobs.RegisterClassify(reg, st, nil, nil, inboxqtest.Logger(b), 0)
		client, err := jobs.NewClient(st, reg, jobs.Config{Schema: s.Name})
		require.NoError(b, err)
		svc := tasks.NewService(st, client, reg, inboxqtest.Logger(b))
		owner, acct := benchMailbox(b, s, st, "bench", 100_000)
		env := workerEnv(b, s)
		run := func() (jobs.ReputationResult, time.Duration, int64) {
			_, res, took, rss := workerTask[jobs.ReputationResult](b, svc, owner, "update_sender_reputation", `{}`, env)
			return res, took, rss
		}

		first, took, rss := run()
		require.True(b, first.Rescan)
		require.Positive(b, first.Changed)
		// 30 people's mail read: the first 10 unread messages of each.
		tag, err := s.Pool.Exec(ctx, `UPDATE message SET label_ids = array_remove(label_ids, 'UNREAD')
			WHERE account_id = $1 AND id IN (
				SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY from_addr ORDER BY id) AS k FROM message
				                WHERE account_id = $1 AND 'UNREAD' = ANY (label_ids) AND from_addr IN (
				                    SELECT DISTINCT from_addr FROM message WHERE account_id = $1 AND from_addr LIKE 'Person %' ORDER BY from_addr LIMIT 30)) r
				WHERE k <= 10)`, acct.ID)
		require.NoError(b, err)
		require.EqualValues(b, 300, tag.RowsAffected())
		inc, tookInc, _ := run()
		require.False(b, inc.Rescan)
		require.Positive(b, inc.Addresses)
		require.LessOrEqual(b, inc.Addresses, 60, "an incremental run recounts the senders with new evidence (and those of the overlap)")
		idle, tookIdle, _ := run()
		require.Zero(b, idle.Changed+idle.Removed)

		b.ReportMetric(took.Seconds(), "first_s")
		b.ReportMetric(float64(first.Addresses+first.Domains)/took.Seconds(), "senders/s")
		b.ReportMetric(float64(tookInc.Microseconds())/1000, "incremental_ms")
		b.ReportMetric(float64(tookIdle.Microseconds())/1000, "idle_ms")
		b.ReportMetric(float64(rss)/(1<<20), "worker_peak_rss_MB")
		b.Logf("first run: %d addresses and %d domains recounted, %d written, in %s (worker peak RSS %.1f MB); "+
			"after 300 messages of 30 senders were read: %d addresses, %d domains, %d written, in %s; nothing new: %d addresses, %s",
			first.Addresses, first.Domains, first.Changed, took.Round(time.Millisecond), float64(rss)/(1<<20),
			inc.Addresses, inc.Domains, inc.Changed, tookInc.Round(time.Millisecond), idle.Addresses, tookIdle.Round(time.Millisecond))
	}
}

// BenchmarkExportTask100k exports a 100,000-message mailbox with
// export_user_data in a worker process, end to end (reading, JSON Lines and
// CSV, compression, recording), and, as the baseline of the same run, a
// 10,000-message one: the worker's memory must stay flat as the mailbox
// grows (target: peak RSS < 200 MB at 100k, the sync's bound).
func BenchmarkExportTask100k(b *testing.B) {
	for range b.N {
		s := inboxqtest.TestSchema(b)
		st := store.New(s.Pool)
		reg := jobs.NewRegistry()
		jobs.RegisterExport(reg, st, b.TempDir(), inboxqtest.Logger(b))
		client, err := jobs.NewClient(st, reg, jobs.Config{Schema: s.Name})
		require.NoError(b, err)
		svc := tasks.NewService(st, client, reg, inboxqtest.Logger(b))
		env := workerEnv(b, s)
		export := func(name string, n int) (jobs.ExportResult, time.Duration, int64) {
			owner, _ := benchMailbox(b, s, st, name, n)
			_, res, took, rss := workerTask[jobs.ExportResult](b, svc, owner, "export_user_data", `{}`, env)
			require.EqualValues(b, n, res.Counts.Messages)
			return res, took, rss
		}
		small, tookSmall, rssSmall := export("small", 10_000)
		big, took, rss := export("big", 100_000)

		b.ReportMetric(took.Seconds(), "task_s")
		b.ReportMetric(100_000/took.Seconds(), "messages/s")
		b.ReportMetric(float64(big.Size)/(1<<20), "archive_MB")
		b.ReportMetric(float64(rss)/(1<<20), "worker_peak_rss_MB")
		b.ReportMetric(float64(rssSmall)/(1<<20), "worker_peak_rss_10k_MB")
		b.ReportMetric(float64(rss)/float64(rssSmall), "rss_100k/10k")
		b.Logf("exported 100,000 messages in %s (%.1f MB archive), worker peak RSS %.1f MB; 10,000 messages: %s (%.1f MB), %.1f MB",
			took.Round(time.Millisecond), float64(big.Size)/(1<<20), float64(rss)/(1<<20),
			tookSmall.Round(time.Millisecond), float64(small.Size)/(1<<20), float64(rssSmall)/(1<<20))
	}
}
