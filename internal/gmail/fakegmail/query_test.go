package fakegmail

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/api/gmail/v1"
)

// queryFixture is a small mailbox with known content; ids maps short names to
// message ids.
func queryFixture(t *testing.T) (*gmail.Service, map[string]string) {
	t.Helper()
	clock := NewManualClock(testEpoch)
	fake := New(Options{Now: clock.Now})
	mb := NewMailbox("me@example.com", 1)
	fake.AddMailbox(mb)
	bank, err := mb.CreateLabel("Finance/Bank")
	require.NoError(t, err)
	_, svc := startServer(t, fake)
	day := 24 * time.Hour
	ids := map[string]string{
		"lunch": addMessage(t, mb, NewMessage{
			From: "Alice Smith <alice@friends.example>", Subject: "Lunch plans", Text: "Are we still on for Friday?",
			LabelIDs: []string{"INBOX", "UNREAD", "CATEGORY_PERSONAL"}, Date: testEpoch.Add(-2 * day),
		}),
		"deals": addMessage(t, mb, NewMessage{
			From: "Shop <news@shop.example>", Subject: "Weekly deals", Text: "Half price espresso machines.",
			Headers:  []Header{{"List-Id", "Shop News <news.shop.example>"}, {"List-Unsubscribe", "<https://shop.example/u>"}},
			LabelIDs: []string{"INBOX", "CATEGORY_PROMOTIONS"}, Date: testEpoch.Add(-400 * day),
		}),
		"statement": addMessage(t, mb, NewMessage{
			From: "Bank <alerts@bank.example>", Subject: "Statement ready", Text: "Your statement is attached.",
			Attachments: []Attachment{{Filename: "statement.pdf", MimeType: "application/pdf", Data: make([]byte, 40000)}},
			LabelIDs:    []string{"CATEGORY_UPDATES", "STARRED", "IMPORTANT", bank}, Date: testEpoch.Add(-40 * day),
		}),
		"spam": addMessage(t, mb, NewMessage{
			From: "Winner <spammer@bad.test>", Subject: "You won", Text: "Claim now.",
			LabelIDs: []string{"SPAM", "UNREAD"}, Date: testEpoch.Add(-1 * day),
		}),
		"photos": addMessage(t, mb, NewMessage{
			From: "Alice Smith <alice@friends.example>", Subject: "Old photos", Text: "From the trip to Oslo.",
			LabelIDs: []string{"TRASH", "CATEGORY_PERSONAL"}, Date: testEpoch.Add(-800 * day),
		}),
		"bob": addMessage(t, mb, NewMessage{
			From: "Bob Jones <bob@friends.example>", To: "me@example.com, Carol <carol@friends.example>",
			Subject: "Re: Lunch plans", Text: "Count me in.",
			LabelIDs: []string{"INBOX", "CATEGORY_SOCIAL"}, Date: testEpoch.Add(-10 * day),
		}),
	}
	return svc, ids
}

func TestQueryFilters(t *testing.T) {
	t.Parallel()
	svc, ids := queryFixture(t)
	epoch := func(d time.Duration) string { return strconv.FormatInt(testEpoch.Add(d).Unix(), 10) }
	day := 24 * time.Hour

	cases := []struct {
		q    string
		want []string // newest first
	}{
		{"from:alice@friends.example", []string{"lunch"}}, // trash hidden
		{"from:alice in:anywhere", []string{"lunch", "photos"}},
		{"from:(alice OR bob)", []string{"lunch", "bob"}},
		{"to:carol", []string{"bob"}},
		{"category:primary", []string{"lunch"}},
		{"category:promotions", []string{"deals"}},
		{"category:updates", []string{"statement"}},
		{"category:social", []string{"bob"}},
		{"older_than:1y", []string{"deals"}},
		{"older_than:30d", []string{"statement", "deals"}},
		{"newer_than:7d", []string{"lunch"}},
		{"older_than:1m newer_than:2m", []string{"statement"}},
		{"after:" + epoch(-11*day), []string{"lunch", "bob"}},
		{"before:" + epoch(-11*day), []string{"statement", "deals"}},
		{"after:2026/10/01 before:2026/10/25", []string{"bob"}},
		{"is:unread", []string{"lunch"}},
		{"is:starred is:important", []string{"statement"}},
		{"-is:unread", []string{"bob", "statement", "deals"}},
		{"label:finance-bank", []string{"statement"}},
		{"label:Finance/Bank", []string{"statement"}},
		{"has:attachment", []string{"statement"}},
		{"larger:30k", []string{"statement"}},
		{"list:shop.example", []string{"deals"}},
		{"subject:lunch", []string{"lunch", "bob"}},
		{"subject:lunch -from:bob", []string{"lunch"}},
		{"espresso", []string{"deals"}},
		{`"lunch plans"`, []string{"lunch", "bob"}},
		{"{deals statement}", []string{"statement", "deals"}},
		{"weekly OR statement", []string{"statement", "deals"}},
		{"(weekly OR statement) is:starred", []string{"statement"}},
		{"in:spam", []string{"spam"}},
		{"in:trash", []string{"photos"}},
		{"in:inbox -category:social", []string{"lunch", "deals"}},
		{"label:no-such-label", nil},
	}
	for _, tc := range cases {
		r, err := svc.Users.Messages.List("me").Q(tc.q).Do()
		require.NoError(t, err, tc.q)
		var got []string
		for _, m := range r.Messages {
			for name, id := range ids {
				if id == m.Id {
					got = append(got, name)
				}
			}
		}
		require.Equal(t, tc.want, got, "q=%s", tc.q)
		require.Equal(t, int64(len(tc.want)), r.ResultSizeEstimate, "q=%s", tc.q)
	}
}

func TestListLabelIDsAndSpamTrash(t *testing.T) {
	t.Parallel()
	svc, ids := queryFixture(t)
	ctx := context.Background()
	list := func(call *gmail.UsersMessagesListCall) []string {
		r, err := call.Context(ctx).Do()
		require.NoError(t, err)
		var out []string
		for _, m := range r.Messages {
			out = append(out, m.Id)
		}
		return out
	}
	// labelIds are ANDed.
	require.Equal(t, []string{ids["lunch"]}, list(svc.Users.Messages.List("me").LabelIds("INBOX", "UNREAD")))
	require.Equal(t, []string{ids["lunch"], ids["bob"], ids["deals"]}, list(svc.Users.Messages.List("me").LabelIds("INBOX")))
	// Asking for TRASH or SPAM by label shows them without includeSpamTrash.
	require.Equal(t, []string{ids["photos"]}, list(svc.Users.Messages.List("me").LabelIds("TRASH")))
	// includeSpamTrash reveals them for other filters.
	require.Equal(t, []string{ids["spam"], ids["lunch"]}, list(svc.Users.Messages.List("me").LabelIds("UNREAD").IncludeSpamTrash(true)))
	require.Equal(t, []string{ids["lunch"]}, list(svc.Users.Messages.List("me").LabelIds("UNREAD")))
	// labelIds combine with q.
	require.Equal(t, []string{ids["bob"]}, list(svc.Users.Messages.List("me").LabelIds("INBOX").Q("from:bob")))
	// Unknown label ids match nothing.
	require.Empty(t, list(svc.Users.Messages.List("me").LabelIds("Label_404")))
	// Total without filters: 4 visible of 6.
	require.Len(t, list(svc.Users.Messages.List("me")), 4)
	require.Len(t, list(svc.Users.Messages.List("me").IncludeSpamTrash(true)), 6)
}

func TestParseQueryOnGeneratedMailbox(t *testing.T) {
	t.Parallel()
	mb := Generate(5, 3000, GenerateOptions{})
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	count := func(q string) int {
		mb.mu.RLock()
		defer mb.mu.RUnlock()
		p := parseQuery(q, mb, now)
		v := view{mb: mb}
		n := 0
		for _, m := range mb.order {
			v.reset(m)
			if p.match(&v) {
				n++
			}
		}
		return n
	}
	all := mb.MessageCount()
	// A term and its negation partition the mailbox.
	for _, q := range []string{"is:unread", "category:promotions", "older_than:1y", "has:attachment", "from:gmail.com", "list:list-id", "subject:order"} {
		pos, neg := count(q), count("-"+q)
		require.Positive(t, pos, q)
		require.Positive(t, neg, q)
		require.Equal(t, all, pos+neg, q)
	}
	// OR is a union, AND an intersection.
	a, b := count("category:social"), count("category:forums")
	require.Equal(t, a+b, count("category:social OR category:forums"))
	require.Zero(t, count("category:social category:forums"))
	require.Equal(t, mb.CountLabel("UNREAD"), count("is:unread"))
}
