package llm

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/classify"
)

func TestCategoriesAreTheClassifiers(t *testing.T) {
	t.Parallel()
	want := make([]string, len(classify.Categories))
	for i, c := range classify.Categories {
		want[i] = string(c)
	}
	require.Equal(t, want, categories)
}

func TestParseAnswer(t *testing.T) {
	t.Parallel()
	batch := []Item{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}}
	content := "```json\n" + `{"results":[
		{"id":"1","category":"spam","confidence":3,"reason":"lottery"},
		{"id":"1","category":"primary","confidence":0.5,"reason":"second answer for 1"},
		{"id":"2","category":"Promotions ","confidence":-1,"reason":"sale"},
		{"id":"3","category":"junk","confidence":0.5,"reason":"not a category"},
		{"id":"9","category":"social","confidence":0.5,"reason":"no such message"},
		{"id":"d","category":"social","confidence":0.5,"reason":"the caller's id, not ours"}
	]}` + "\n```"
	got, err := parseAnswer(content, batch)
	require.NoError(t, err)
	require.Equal(t, []Answer{
		{ID: "a", Category: "spam", Confidence: 1, Reason: "lottery"},
		{ID: "b", Category: "promotions", Confidence: 0, Reason: "sale"},
	}, got)

	for _, bad := range []string{"", "primary", `{"answers":[]}`, `{"results":"primary"}`, `[{"id":"1"}]`} {
		_, err := parseAnswer(bad, batch)
		require.Error(t, err, bad)
	}
	got, err = parseAnswer(`{"results":[]}`, batch)
	require.NoError(t, err, "an empty list is an answer: nothing answered")
	require.Empty(t, got)
}

func TestUserMessageCutsFieldsAndLeavesTheBodyOut(t *testing.T) {
	t.Parallel()
	it := Item{ID: "x", Subject: strings.Repeat("é", 250), From: "a@b.example", Snippet: strings.Repeat("s", 400), Body: "BODY-TEXT " + strings.Repeat("b", 3000)}
	msg, err := userMessage([]Item{it}, false)
	require.NoError(t, err)
	require.NotContains(t, msg, "BODY-TEXT")
	require.NotContains(t, msg, `"body"`)
	require.Contains(t, msg, `"subject":"`+strings.Repeat("é", 200)+`"`)
	require.Contains(t, msg, `"snippet":"`+strings.Repeat("s", 300)+`"`)
	require.Contains(t, msg, `"id":"1"`)
	require.NotContains(t, msg, `"x"`, "the caller's id stays here")

	msg, err = userMessage([]Item{it}, true)
	require.NoError(t, err)
	require.Contains(t, msg, `"body":"BODY-TEXT `+strings.Repeat("b", 1990)+`"`)
}

func TestTruncateKeepsCharactersWhole(t *testing.T) {
	t.Parallel()
	require.Equal(t, "ab", truncate("abc", 2))
	require.Equal(t, "日本", truncate("日本語", 2))
	require.Equal(t, "abc", truncate(" abc ", 5))
	require.Equal(t, "ab", truncate("a\xffb", 5), "invalid UTF-8 dropped")
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	h := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	require.Equal(t, 7*time.Second, retryAfter(h("Retry-After", "7"), now))
	require.Equal(t, 90*time.Second, retryAfter(h("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)), now))
	require.Equal(t, time.Duration(0), retryAfter(h("Retry-After", now.Add(-time.Hour).Format(http.TimeFormat)), now))
	require.Equal(t, 1500*time.Millisecond, retryAfter(h("Retry-After-Ms", "1500", "Retry-After", "2"), now))
	require.Equal(t, defaultRetryAfter, retryAfter(h(), now))
	require.Equal(t, defaultRetryAfter, retryAfter(h("Retry-After", "soon"), now))
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	t.Parallel()
	for n := 1; n <= maxTransientRetries; n++ {
		base := backoffBase << (n - 1)
		for range 100 {
			d := backoff(n)
			require.GreaterOrEqual(t, d, base/2)
			require.Less(t, d, base*3/2)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	c := Config{}.withDefaults()
	require.Equal(t, Config{BatchSize: 20, RequestsPerMinute: 60, TokensPerMinute: 100_000, UserTokensPerDay: 200_000, Timeout: time.Minute, MaxWait: 5 * time.Second}, c)
	require.False(t, c.Enabled())
	require.True(t, Config{BaseURL: "http://x/v1", Model: "m"}.Enabled())
}
