package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/classify"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
)

type apiMessage struct {
	ID, From, Subject, Category, Source, Rule string
	Unread                                    bool
	Date                                      time.Time
}

type messagePage struct {
	Messages   []apiMessage `json:"messages"`
	NextCursor string       `json:"next_cursor"`
}

// mailStack is a stack with alice's account of n stored, classified
// messages (every fifth social by Gmail's label, every fifth a newsletter,
// every fifth spam, every fifth from a no-reply address, the rest personal),
// and bob, who has an account with one message.
func mailStack(t *testing.T, n int) (s *inboxqtest.Stack, alice, bob string, acct, bobAcct inbox.Account) {
	t.Helper()
	schema := inboxqtest.TestSchema(t)
	st := store.New(schema.Pool)
	s = inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true, NoRiverUI: true, Schema: &schema, Kinds: func(r *jobs.Registry) {
		jobs.RegisterClassify(r, st, classify.MustBase(), nil, inboxqtest.Logger(t), 0)
	}})
	ctx := context.Background()
	a, alice := s.User(t, "alice", false)
	b, bob := s.User(t, "bob", false)
	var err error
	acct, err = s.Store.AccountUpsert(ctx, a.UserID, "alice@example.com", []string{})
	require.NoError(t, err)
	bobAcct, err = s.Store.AccountUpsert(ctx, b.UserID, "bob@example.com", []string{})
	require.NoError(t, err)
	base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var ms []inbox.Message
	for i := range n {
		m := inbox.Message{ID: fmt.Sprintf("%016x", 0x18c0000000000000+i), ThreadID: fmt.Sprintf("t%d", i),
			Date: base.Add(-time.Duration(i) * time.Hour), Labels: []string{"INBOX"}}
		switch i % 5 {
		case 0:
			m.From, m.Subject, m.Snippet = "Dana Reyes <dana@example.org>", fmt.Sprintf("Lunch tomorrow %d?", i), "Are you free for lunch tomorrow at noon?"
		case 1:
			m.From, m.Subject, m.Snippet = "Friendbook <notify@friendbook.example>", "You have a new follower", "Someone followed you"
			m.Labels = append(m.Labels, "CATEGORY_SOCIAL", "UNREAD")
		case 2:
			m.From, m.Subject, m.Snippet = "Garden Weekly <news@gardenweekly.example>", "This week in the garden", "Tomatoes, compost and the first frost"
			m.ListUnsubscribe = "<https://gardenweekly.example/u>"
		case 3:
			m.From, m.Subject = "Prize Desk <info@4f2a1winner.test>", "URGENT: claim your $500000 prize now!!"
			m.Snippet = "Dear friend, click here to claim your reward before it expires. Act now to secure your prize of 500000 dollars, verify your account today."
			m.Labels = append(m.Labels, "UNREAD")
		case 4:
			m.From, m.Subject, m.Snippet = "Shop <no-reply@shop.example>", "Your order has shipped", "Order 1234 is on its way"
		}
		ms = append(ms, m)
	}
	require.NoError(t, s.Store.MessageUpsert(ctx, acct.ID, ms))
	require.NoError(t, s.Store.MessageUpsert(ctx, bobAcct.ID, []inbox.Message{{ID: "18cb0b0b0b0b0b0b", ThreadID: "x", From: "x@example.com",
		Subject: "bob's", Date: base}}))
	for _, p := range []struct {
		who inbox.Principal
		id  int64
	}{{a, acct.ID}, {b, bobAcct.ID}} {
		task, _, err := s.Tasks.Create(ctx, p.who, tasks.CreateParams{Kind: "classify_email_batch", Args: json.RawMessage(fmt.Sprintf(`{"account_id":%d}`, p.id))})
		require.NoError(t, err)
		s.WaitTask(t, task.ID, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	}
	return s, alice, bob, acct, bobAcct
}

func TestMessagesListFiltersSearchesAndPages(t *testing.T) {
	t.Parallel()
	s, alice, bob, acct, _ := mailStack(t, 45)

	// Pages of 20 cover everything once, newest first, with Link headers.
	var all []apiMessage
	path := "/api/v1/messages?limit=20"
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		r := s.Do(t, http.MethodGet, path, alice, nil)
		require.Equal(t, http.StatusOK, r.Code, "%s", r.Body)
		var p messagePage
		r.JSON(t, &p)
		all = append(all, p.Messages...)
		if p.NextCursor == "" {
			require.Empty(t, r.Header.Get("Link"))
			break
		}
		require.Contains(t, r.Header.Get("Link"), `rel="next"`)
		path = "/api/v1/messages?limit=20&cursor=" + url.QueryEscape(p.NextCursor)
	}
	require.Len(t, all, 45)
	seen := map[string]bool{}
	for i, m := range all {
		require.False(t, seen[m.ID], "listed once: %s", m.ID)
		seen[m.ID] = true
		require.True(t, strings.HasPrefix(m.ID, fmt.Sprint(acct.ID)+"."))
		if i > 0 {
			require.False(t, m.Date.After(all[i-1].Date), "newest first")
		}
		require.NotEmpty(t, m.Category)
	}

	list := func(q string) []apiMessage {
		t.Helper()
		r := s.Do(t, http.MethodGet, "/api/v1/messages?limit=100&"+q, alice, nil)
		require.Equal(t, http.StatusOK, r.Code, "%s: %s", q, r.Body)
		var p messagePage
		r.JSON(t, &p)
		return p.Messages
	}
	social := list("category=social")
	require.Len(t, social, 9)
	for _, m := range social {
		require.Equal(t, "rule", m.Source)
		require.Equal(t, "gmail-label:CATEGORY_SOCIAL", m.Rule)
	}
	spam := list("category=spam")
	require.Len(t, spam, 9, "the prize mail is spam")
	require.Len(t, list("category=newsletters"), 9)
	require.Len(t, list("category=updates"), 9)
	require.Len(t, list("category=primary"), 9, "the lunch notes stay in Primary")
	require.Len(t, list("unread=true"), 18)
	require.Len(t, list("sender=gardenweekly"), 9)
	require.Len(t, list("q=compost"), 9, "full-text search over the snippet")
	require.Len(t, list("q="+url.QueryEscape(`"first frost" -tomatoes`)), 0)
	require.Len(t, list("q=lunch&category=primary"), 9)
	require.Len(t, list("since=2026-11-01T00:00:00Z&until=2026-11-01T06:00:00Z"), 6)
	require.Empty(t, list("category=unclassified"))

	// Bob sees only his own, whatever he asks for.
	r := s.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/messages?account_id=%d", acct.ID), bob, nil)
	require.Equal(t, http.StatusOK, r.Code)
	var p messagePage
	r.JSON(t, &p)
	require.Empty(t, p.Messages)
	r = s.Do(t, http.MethodGet, "/api/v1/messages", bob, nil)
	r.JSON(t, &p)
	require.Len(t, p.Messages, 1)

	// Bad input is a 422 that names it.
	for q, loc := range map[string]string{
		"category=important":      "query.category",
		"cursor=bm90LWEtY3Vyc29y": "query.cursor",
		"q=a%00b":                 "query.q",
		"since=yesterday":         "query.since",
	} {
		r := s.Do(t, http.MethodGet, "/api/v1/messages?"+q, alice, nil)
		require.Equal(t, http.StatusUnprocessableEntity, r.Code, "%s: %s", q, r.Body)
		require.Contains(t, string(r.Body), loc, q)
	}
}

func TestMessageCountsDetailAndFeedback(t *testing.T) {
	t.Parallel()
	s, alice, bob, acct, bobAcct := mailStack(t, 20)

	var counts struct {
		Categories []struct {
			Category         string
			Messages, Unread int64
		}
		Total int64
	}
	r := s.Do(t, http.MethodGet, "/api/v1/messages/counts", alice, nil)
	require.Equal(t, http.StatusOK, r.Code, "%s", r.Body)
	r.JSON(t, &counts)
	require.EqualValues(t, 20, counts.Total)
	var sum int64
	by := map[string]int64{}
	for _, c := range counts.Categories {
		sum += c.Messages
		by[c.Category] = c.Messages
	}
	require.EqualValues(t, 20, sum)
	require.EqualValues(t, 4, by["spam"])
	require.Len(t, counts.Categories, 8, "seven categories and unclassified, zeros included")

	// One message, and why.
	spamID := fmt.Sprintf("%d.%016x", acct.ID, 0x18c0000000000000+3)
	var d struct {
		Category, Source, Why string
		Features              []classify.Feature
		SpamProbability       float64 `json:"spam_probability"`
	}
	r = s.Do(t, http.MethodGet, "/api/v1/messages/"+spamID, alice, nil)
	require.Equal(t, http.StatusOK, r.Code, "%s", r.Body)
	r.JSON(t, &d)
	require.Equal(t, "spam", d.Category)
	require.Contains(t, d.Why, "spam model")
	require.NotEmpty(t, d.Features)
	require.Greater(t, d.SpamProbability, 0.5)
	require.Equal(t, http.StatusNotFound, s.Do(t, http.MethodGet, "/api/v1/messages/"+spamID, bob, nil).Code, "not bob's")
	require.Equal(t, http.StatusUnprocessableEntity, s.Do(t, http.MethodGet, "/api/v1/messages/not-an-id", alice, nil).Code)

	// A correction shows at once, and learning follows.
	var fb struct {
		Message struct{ Category, Source string }
		Rule    *struct{ Sender, Category string }
		TaskID  int64 `json:"task_id"`
	}
	r = s.Do(t, http.MethodPost, "/api/v1/messages/"+spamID+"/feedback", alice, map[string]any{"category": "primary", "always": "sender"})
	require.Equal(t, http.StatusOK, r.Code, "%s", r.Body)
	r.JSON(t, &fb)
	require.Equal(t, "primary", fb.Message.Category)
	require.Equal(t, "person", fb.Message.Source)
	require.NotNil(t, fb.Rule)
	require.Equal(t, "info@4f2a1winner.test", fb.Rule.Sender)
	require.Positive(t, fb.TaskID)
	r = s.Do(t, http.MethodGet, "/api/v1/messages/"+spamID, alice, nil)
	r.JSON(t, &d)
	require.Equal(t, "primary", d.Category)
	require.Contains(t, d.Why, "You put it in Primary")

	// Bob can neither correct alice's mail nor see or delete her rules.
	r = s.Do(t, http.MethodPost, "/api/v1/messages/"+spamID+"/feedback", bob, map[string]any{"category": "spam"})
	require.Equal(t, http.StatusNotFound, r.Code, "%s", r.Body)
	var rules struct {
		Rules []struct {
			ID     int64
			Sender string
		}
	}
	s.Do(t, http.MethodGet, "/api/v1/classification/rules", bob, nil).JSON(t, &rules)
	require.Empty(t, rules.Rules)
	s.Do(t, http.MethodGet, "/api/v1/classification/rules", alice, nil).JSON(t, &rules)
	require.Len(t, rules.Rules, 1)
	require.Equal(t, http.StatusNotFound, s.Do(t, http.MethodDelete, fmt.Sprintf("/api/v1/classification/rules/%d", rules.Rules[0].ID), bob, nil).Code)

	// Bulk: up to 1,000 ids, each checked; ids that aren't the caller's are
	// reported missing and left alone.
	ids := []string{fmt.Sprintf("%d.%016x", acct.ID, 0x18c0000000000000+0), fmt.Sprintf("%d.18cb0b0b0b0b0b0b", bobAcct.ID)}
	var bulk struct {
		Updated int
		Missing []string
	}
	r = s.Do(t, http.MethodPost, "/api/v1/messages/feedback", alice, map[string]any{"ids": ids, "category": "forums"})
	require.Equal(t, http.StatusOK, r.Code, "%s", r.Body)
	r.JSON(t, &bulk)
	require.Equal(t, 1, bulk.Updated)
	require.Equal(t, ids[1:], bulk.Missing)
	r = s.Do(t, http.MethodGet, "/api/v1/messages", bob, nil)
	var p messagePage
	r.JSON(t, &p)
	require.Equal(t, "primary", p.Messages[0].Category, "bob's message untouched")

	for name, body := range map[string]any{
		"unknown category": map[string]any{"category": "important"},
		"bad always":       map[string]any{"category": "spam", "always": "everyone"},
	} {
		r := s.Do(t, http.MethodPost, "/api/v1/messages/"+spamID+"/feedback", alice, body)
		require.Equal(t, http.StatusUnprocessableEntity, r.Code, "%s: %s", name, r.Body)
	}
	many := make([]string, 1001)
	for i := range many {
		many[i] = ids[0]
	}
	require.Equal(t, http.StatusUnprocessableEntity, s.Do(t, http.MethodPost, "/api/v1/messages/feedback", alice, map[string]any{"ids": many, "category": "spam"}).Code)
	r = s.Do(t, http.MethodPost, "/api/v1/messages/feedback", alice, map[string]any{"ids": []string{ids[0], "nope"}, "category": "spam"})
	require.Equal(t, http.StatusUnprocessableEntity, r.Code)
	require.Contains(t, string(r.Body), "body.ids[1]")

	// Clearing the correction shows the classifier's category again (the
	// sender rule still decides once relearning ran, so delete it first).
	require.Equal(t, http.StatusNoContent, s.Do(t, http.MethodDelete, fmt.Sprintf("/api/v1/classification/rules/%d", rules.Rules[0].ID), alice, nil).Code)
	require.Equal(t, http.StatusNoContent, s.Do(t, http.MethodDelete, "/api/v1/messages/"+spamID+"/feedback", alice, nil).Code)
	s.WaitTask(t, fb.TaskID, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	r = s.Do(t, http.MethodGet, "/api/v1/messages/"+spamID, alice, nil)
	r.JSON(t, &d)
	require.Equal(t, "spam", d.Category)
}
