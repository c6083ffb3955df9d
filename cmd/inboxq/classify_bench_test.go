package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/classify"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/llm/fakellm"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
)

// classifyRun is an account of stored, unclassified messages and a worker
// process (this test binary run as `inboxq worker`) to classify them.
type classifyRun struct {
	st      *store.Store
	svc     *tasks.Service
	owner   inbox.Principal
	account inbox.Account
	env     []string
}

// benchMail makes n stored messages of the kinds a mailbox holds: people,
// newsletters, notifications, social networks (labelled by Gmail), lists
// and spam, with words drawn so no two are alike.
func benchMail(n int) []inbox.Message {
	rng := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("budget roadmap garden hiking invoice meeting tomorrow release notes photos weekend offer sale " +
		"order shipped receipt update account security review draft agenda lunch dinner travel flight hotel prize winner")
	text := func(k int) string {
		var b strings.Builder
		for i := range k {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[rng.IntN(len(words))])
		}
		return b.String()
	}
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	out := make([]inbox.Message, n)
	for i := range out {
		m := inbox.Message{ID: fmt.Sprintf("%016x", 0x1900000000000000+i), ThreadID: fmt.Sprintf("%x", i/3),
			Date: base.Add(-time.Duration(i) * time.Minute), Labels: []string{"INBOX"}, Subject: text(5), Snippet: text(30)}
		switch i % 6 {
		case 0:
			m.From = fmt.Sprintf("Person %d <p%d@example.org>", i%500, i%500)
		case 1:
			m.From, m.ListUnsubscribe = fmt.Sprintf("News %d <news@brand%d.example>", i%80, i%80), "<https://example/u>"
		case 2:
			m.From = fmt.Sprintf("Service <no-reply@svc%d.example>", i%40)
		case 3:
			m.From, m.Labels = "Friendbook <notify@friendbook.example>", []string{"INBOX", "CATEGORY_SOCIAL"}
		case 4:
			m.From, m.ListID = fmt.Sprintf("list%d@lists.example.org", i%20), fmt.Sprintf("<list%d.lists.example.org>", i%20)
			m.ListUnsubscribe, m.Subject = "<mailto:leave@lists.example.org>", "Re: "+m.Subject
		case 5:
			m.From = fmt.Sprintf("Prize Desk <info@%x.test>", i%300)
			m.Subject, m.Snippet = "URGENT: claim your $"+fmt.Sprint(1000*(i%900))+" prize now!!", "Dear friend, click here to claim your reward before it expires. "+m.Snippet
		}
		out[i] = m
	}
	return out
}

func newClassifyRun(b *testing.B, messages int, env ...string) *classifyRun {
	b.Helper()
	ctx := context.Background()
	s := inboxqtest.TestSchema(b)
	st := store.New(s.Pool)
	reg := jobs.NewRegistry()
	jobs.RegisterClassify(reg, st, classify.MustBase(), nil, inboxqtest.Logger(b), 0)
	client, err := jobs.NewClient(st, reg, jobs.Config{Schema: s.Name})
	require.NoError(b, err)
	owner, err := st.UserUpsert(ctx, "bench", inbox.RoleUser)
	require.NoError(b, err)
	acct, err := st.AccountUpsert(ctx, owner.UserID, "bench@example.com", []string{})
	require.NoError(b, err)
	mail := benchMail(messages)
	for i := 0; i < len(mail); i += 1000 {
		require.NoError(b, st.MessageUpsert(ctx, acct.ID, mail[i:min(i+1000, len(mail))]))
	}
	_, err = s.Pool.Exec(ctx, "VACUUM ANALYZE message")
	require.NoError(b, err)
	return &classifyRun{st: st, svc: tasks.NewService(st, client, reg, inboxqtest.Logger(b)), owner: owner, account: acct,
		env: workerEnv(b, s, env...)}
}

// run classifies the account in a worker process and returns the finished
// task, its own run time (from its start to its end, in the database's
// clock) and the process's peak RSS.
func (r *classifyRun) run(b *testing.B, args string) (inbox.Task, jobs.ClassifyResult, time.Duration, int64) {
	b.Helper()
	return workerTask[jobs.ClassifyResult](b, r.svc, r.owner, "classify_email_batch", fmt.Sprintf(`{"account_id":%d%s}`, r.account.ID, args), r.env)
}

// BenchmarkClassifyTask100k classifies 100,000 stored messages with the
// classify_email_batch task in a worker process: reads, the pipeline and
// the writes (target ≥ 5,000 messages/s end to end), its peak RSS, and,
// as the baseline of the same run, the same task again over the same
// messages, which reads and decides everything and writes only what
// changed (the sender scores the first run started may tip some).
func BenchmarkClassifyTask100k(b *testing.B) {
	for range b.N {
		r := newClassifyRun(b, 100_000)
		_, res, took, rss := r.run(b, "")
		require.EqualValues(b, 100_000, res.Changed)
		_, again, tookAgain, _ := r.run(b, `,"all":true`)
		b.ReportMetric(float64(res.Scanned)/took.Seconds(), "messages/s")
		b.ReportMetric(float64(again.Scanned)/tookAgain.Seconds(), "rerun_messages/s")
		b.ReportMetric(float64(rss)/(1<<20), "worker_peak_rss_MB")
		b.Logf("classified %d messages in %s (%.0f/s; %v); the re-run: %s (%.0f/s), %d rewritten; worker peak RSS %.1f MB",
			res.Scanned, took.Round(time.Millisecond), float64(res.Scanned)/took.Seconds(), res.Categories,
			tookAgain.Round(time.Millisecond), float64(again.Scanned)/tookAgain.Seconds(), again.Changed, float64(rss)/(1<<20))
	}
}

// BenchmarkClassifyLLMRequests classifies 10,000 messages with the LLM
// stage on (a fake OpenAI-compatible endpoint) and reports LLM requests per
// message classified and per message the spam model was unsure of.
func BenchmarkClassifyLLMRequests(b *testing.B) {
	for range b.N {
		fake := fakellm.New("")
		srv := httptest.NewServer(fake)
		b.Cleanup(srv.Close)
		r := newClassifyRun(b, 10_000, "INBOXQ_LLM_BASE_URL="+srv.URL+"/v1", "INBOXQ_LLM_MODEL=fake",
			"INBOXQ_LLM_REQUESTS_PER_MINUTE=100000", "INBOXQ_LLM_TOKENS_PER_MINUTE=100000000", "INBOXQ_LLM_USER_TOKENS_PER_DAY=100000000")
		_, res, took, _ := r.run(b, "")
		var byLLM int
		require.NoError(b, r.st.Pool().QueryRow(context.Background(),
			"SELECT count(*) FROM message WHERE account_id = $1 AND category_source = 'llm'", r.account.ID).Scan(&byLLM))
		b.ReportMetric(float64(res.LLM.Requests)/float64(res.Scanned), "llm_requests/message")
		if byLLM > 0 {
			b.ReportMetric(float64(res.LLM.Requests)/float64(byLLM), "llm_requests/unsure_message")
		}
		b.ReportMetric(float64(res.LLM.Tokens)/float64(max(byLLM, 1)), "llm_tokens/unsure_message")
		b.Logf("classified %d messages in %s: %d decided by the LLM, %d requests, %d tokens", res.Scanned, took.Round(time.Millisecond),
			byLLM, res.LLM.Requests, res.LLM.Tokens)
	}
}
