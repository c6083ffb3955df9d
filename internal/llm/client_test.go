package llm_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/llm"
	"github.com/inboxq/inboxq/internal/llm/fakellm"
	"github.com/inboxq/inboxq/internal/store"
)

const testKey = "sk-test-key"

// fixture is a store on a private schema, the fake endpoint and a user.
// Not a rolled-back transaction: the limiter's buckets are rows every test
// would share (llm:requests...), and concurrent transactions inserting the
// same bucket wait for each other.
type fixture struct {
	st   *store.Store
	fake *fakellm.Server
	url  string
	user int64
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	return newFixtureOn(t, store.New(inboxqtest.TestSchema(t).Pool))
}

func newFixtureOn(t *testing.T, st *store.Store) fixture {
	t.Helper()
	fake := fakellm.New(testKey)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fixture{st: st, fake: fake, url: srv.URL + "/v1", user: newUser(t, st, "ann")}
}

func newUser(t *testing.T, st *store.Store, name string) int64 {
	t.Helper()
	u, err := st.UserUpsert(context.Background(), name, inbox.RoleUser)
	require.NoError(t, err)
	return u.UserID
}

// client returns a client of the fake; cfg's endpoint fields are filled in.
func (f fixture) client(cfg llm.Config) *llm.Client {
	cfg.BaseURL, cfg.Model = f.url, "fake-model"
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	return llm.New(cfg, f.st, nil)
}

// items makes n messages, each with a keyword the fake's rules know.
func items(n int) []llm.Item {
	kinds := []struct{ subject, want string }{
		{"You are a lottery winner", "spam"},
		{"Our weekly newsletter", "newsletters"},
		{"Winter sale: 30% off", "promotions"},
		{"New connection on LinkedIn", "social"},
		{"Your order has shipped", "updates"},
		{"Lunch tomorrow?", "primary"},
	}
	out := make([]llm.Item, n)
	for i := range out {
		k := kinds[i%len(kinds)]
		out[i] = llm.Item{ID: fmt.Sprintf("msg-%03d", i), Subject: k.subject, From: "someone@example.com", Snippet: "snippet " + k.want}
	}
	return out
}

// wantCategory is what the fake answers for an item made by items.
func wantCategory(it llm.Item) string {
	c, _ := fakellm.Categorize(it.Subject, it.From, it.Snippet, it.Body)
	return c
}

func byID(answers []llm.Answer) map[string]llm.Answer {
	m := map[string]llm.Answer{}
	for _, a := range answers {
		m[a.ID] = a
	}
	return m
}

func TestClassifyMapsStructuredAnswersToIDs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	in := items(6)
	answers, used, err := f.client(llm.Config{}).Classify(context.Background(), f.user, in)
	require.NoError(t, err)
	require.Len(t, answers, 6)
	got := byID(answers)
	for _, it := range in {
		a, ok := got[it.ID]
		require.True(t, ok, it.ID)
		require.Equal(t, wantCategory(it), a.Category, it.Subject)
		require.InDelta(t, 0.75, a.Confidence, 0.25)
		require.NotEmpty(t, a.Reason)
	}
	require.Equal(t, []string{"spam", "newsletters", "promotions", "social", "updates", "primary"},
		[]string{got["msg-000"].Category, got["msg-001"].Category, got["msg-002"].Category, got["msg-003"].Category, got["msg-004"].Category, got["msg-005"].Category})
	require.Equal(t, 1, used.Requests)
	require.Positive(t, used.PromptTokens)
	require.Positive(t, used.CompletionTokens)
	require.Zero(t, used.Malformed)

	// The request asked for a strict JSON schema with the categories.
	req := string(f.fake.LastRequest())
	require.Contains(t, req, `"type":"json_schema"`)
	require.Contains(t, req, `"strict":true`)
	require.Contains(t, req, `"enum":["primary","social","promotions","updates","forums","newsletters","spam"]`)
	require.Contains(t, req, `"model":"fake-model"`)
}

func TestClassifyBatches(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	in := items(45)
	answers, used, err := f.client(llm.Config{BatchSize: 20}).Classify(context.Background(), f.user, in)
	require.NoError(t, err)
	require.Equal(t, 3, f.fake.Requests())
	require.Equal(t, 3, used.Requests)
	require.Len(t, answers, 45)
	got := byID(answers)
	for _, it := range in {
		require.Equal(t, wantCategory(it), got[it.ID].Category, it.ID)
	}
}

func TestClassifyWithNothingAsksNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	answers, used, err := f.client(llm.Config{}).Classify(context.Background(), f.user, nil)
	require.NoError(t, err)
	require.Empty(t, answers)
	require.Zero(t, used)
	require.Zero(t, f.fake.Requests())
}

func TestShortRetryAfterIsWaitedOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fake.FailNext(1, http.StatusTooManyRequests, time.Second)
	start := time.Now()
	answers, used, err := f.client(llm.Config{MaxWait: 30 * time.Second}).Classify(context.Background(), f.user, items(3))
	require.NoError(t, err)
	require.Len(t, answers, 3)
	require.Equal(t, 2, f.fake.Requests())
	require.Equal(t, 2, used.Requests)
	require.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "waited for Retry-After")
}

func TestLongRetryAfterIsHandedBackAndBlocksEveryProcess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Two processes: two pools on one schema.
	s := inboxqtest.TestSchema(t)
	f := newFixtureOn(t, store.New(s.Pool))
	other, err := store.Connect(ctx, s.URL, store.ConnectOptions{Schema: s.Name, MaxConns: 4})
	require.NoError(t, err)
	t.Cleanup(other.Close)

	f.fake.FailNext(1, http.StatusTooManyRequests, time.Minute)
	_, used, err := f.client(llm.Config{}).Classify(ctx, f.user, items(3))
	var rl *llm.RateLimitedError
	require.ErrorAs(t, err, &rl)
	require.Equal(t, "llm:requests", rl.Bucket)
	require.WithinDuration(t, time.Now().Add(time.Minute), rl.RetryAt, 20*time.Second)
	require.Equal(t, 1, used.Requests)

	second := llm.New(llm.Config{BaseURL: f.url, Model: "fake-model", APIKey: testKey}, store.New(other), nil)
	_, used, err = second.Classify(ctx, newUser(t, store.New(other), "bob"), items(3))
	var rl2 *llm.RateLimitedError
	require.ErrorAs(t, err, &rl2)
	require.Equal(t, "llm:requests", rl2.Bucket)
	require.WithinDuration(t, rl.RetryAt, rl2.RetryAt, 5*time.Second)
	require.Zero(t, used.Requests)
	require.Equal(t, 1, f.fake.Requests(), "the second process asked nothing")
}

func TestRequestsPerMinuteIsTheDeployments(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.client(llm.Config{RequestsPerMinute: 1, MaxWait: time.Millisecond})
	_, _, err := c.Classify(context.Background(), f.user, items(1))
	require.NoError(t, err)
	_, _, err = c.Classify(context.Background(), newUser(t, f.st, "bob"), items(1))
	var rl *llm.RateLimitedError
	require.ErrorAs(t, err, &rl)
	require.Equal(t, "llm:requests", rl.Bucket)
	require.True(t, rl.RetryAt.After(time.Now().Add(30*time.Second)), "about a minute: %s", time.Until(rl.RetryAt))
	require.Equal(t, 1, f.fake.Requests())
}

func TestServerErrorsAreRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fake.FailNext(2, http.StatusServiceUnavailable, 0)
	answers, used, err := f.client(llm.Config{}).Classify(context.Background(), f.user, items(3))
	require.NoError(t, err)
	require.Len(t, answers, 3)
	require.Equal(t, 3, f.fake.Requests())
	require.Equal(t, 3, used.Requests)
}

func TestServerErrorsForeverFail(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fake.FailNext(100, http.StatusInternalServerError, 0)
	answers, used, err := f.client(llm.Config{}).Classify(context.Background(), f.user, items(3))
	require.ErrorContains(t, err, "500 Internal Server Error")
	var rl *llm.RateLimitedError
	require.False(t, errors.As(err, &rl))
	require.Empty(t, answers)
	require.Equal(t, 4, f.fake.Requests(), "one attempt and 3 retries")
	require.Equal(t, 4, used.Requests)

	// Failed requests are recorded too.
	u, err := f.st.LLMUsageGet(context.Background(), f.user, time.Now())
	require.NoError(t, err)
	require.EqualValues(t, 4, u.Requests)
	require.Zero(t, u.PromptTokens)
}

func TestMalformedAnswerIsRetriedOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fake.MalformedNext(1)
	answers, used, err := f.client(llm.Config{}).Classify(context.Background(), f.user, items(3))
	require.NoError(t, err)
	require.Len(t, answers, 3)
	require.Equal(t, 2, f.fake.Requests())
	require.Zero(t, used.Malformed)
}

func TestMalformedTwiceLeavesTheBatchUnanswered(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fake.MalformedNext(2)
	in := items(25)
	answers, used, err := f.client(llm.Config{BatchSize: 20}).Classify(context.Background(), f.user, in)
	require.NoError(t, err)
	require.Len(t, answers, 5, "the second batch only")
	got := byID(answers)
	for _, it := range in[20:] {
		require.Contains(t, got, it.ID)
	}
	require.Equal(t, 20, used.Malformed)
	require.Equal(t, 3, used.Requests)
}

func TestSlowAnswersTimeOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fake.Delay(time.Minute)
	_, used, err := f.client(llm.Config{Timeout: 200 * time.Millisecond}).Classify(context.Background(), f.user, items(3))
	require.ErrorContains(t, err, "no answer within 200ms")
	require.NotErrorIs(t, err, context.DeadlineExceeded, "a job's own deadline is another matter")
	require.Equal(t, 4, used.Requests)
	require.Eventually(t, func() bool { return f.fake.Requests() == 4 }, 10*time.Second, 10*time.Millisecond)
}

func TestCancelStopsAtOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fake.Delay(time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := f.client(llm.Config{}).Classify(ctx, f.user, items(3))
		done <- err
	}()
	require.Eventually(t, func() bool { return f.fake.Requests() == 1 }, 10*time.Second, 5*time.Millisecond)
	cancel()
	require.ErrorIs(t, inboxqtest.WaitOrTimeout(t, done, 10*time.Second), context.Canceled)
	require.Equal(t, 1, f.fake.Requests(), "no retry after a cancel")
}

func TestUserDailyBudget(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	bob := newUser(t, f.st, "bob")
	// Each call costs more than the day's budget: the first takes all of
	// a full bucket and goes into debt, the next has to wait for hours.
	in := items(20)
	for i := range in {
		in[i].Snippet = strings.Repeat("long snippet ", 25)
	}
	c := f.client(llm.Config{UserTokensPerDay: 1000})
	answers, _, err := c.Classify(context.Background(), f.user, in)
	require.NoError(t, err)
	require.Len(t, answers, 20)

	_, used, err := c.Classify(context.Background(), f.user, in)
	var rl *llm.RateLimitedError
	require.ErrorAs(t, err, &rl)
	require.Equal(t, fmt.Sprintf("llm:user:%d:tokens", f.user), rl.Bucket)
	require.True(t, rl.RetryAt.After(time.Now().Add(time.Hour)), "hours away: %s", time.Until(rl.RetryAt))
	require.Zero(t, used.Requests)
	require.Equal(t, 1, f.fake.Requests())

	answers, _, err = c.Classify(context.Background(), bob, in)
	require.NoError(t, err, "another user has a budget of their own")
	require.Len(t, answers, 20)
}

func TestUsageAddsUpAcrossCalls(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	c := f.client(llm.Config{BatchSize: 10})
	start := time.Now()
	_, first, err := c.Classify(ctx, f.user, items(15))
	require.NoError(t, err)
	_, second, err := c.Classify(ctx, f.user, items(4))
	require.NoError(t, err)
	require.Equal(t, 2, first.Requests)
	require.Equal(t, 1, second.Requests)

	// Rows are per UTC day; a test that ran over midnight reads both.
	got, err := f.st.LLMUsageGet(ctx, f.user, time.Now())
	require.NoError(t, err)
	if start.UTC().YearDay() != time.Now().UTC().YearDay() {
		before, err := f.st.LLMUsageGet(ctx, f.user, start)
		require.NoError(t, err)
		got.Requests, got.PromptTokens, got.CompletionTokens = got.Requests+before.Requests, got.PromptTokens+before.PromptTokens, got.CompletionTokens+before.CompletionTokens
	}
	require.Equal(t, store.LLMUsage{
		Requests:         3,
		PromptTokens:     int64(first.PromptTokens + second.PromptTokens),
		CompletionTokens: int64(first.CompletionTokens + second.CompletionTokens),
	}, got)
}

func TestBodyStaysUnlessSendBody(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	in := []llm.Item{{ID: "m1", Subject: "Hello", From: "a@example.com", Snippet: "short", Body: "CONFIDENTIAL-BODY-TEXT and a receipt"}}
	answers, _, err := f.client(llm.Config{}).Classify(context.Background(), f.user, in)
	require.NoError(t, err)
	require.NotContains(t, string(f.fake.LastRequest()), "CONFIDENTIAL-BODY-TEXT")
	require.Equal(t, "primary", answers[0].Category, "the fake saw no body")

	answers, _, err = f.client(llm.Config{SendBody: true}).Classify(context.Background(), f.user, in)
	require.NoError(t, err)
	require.Contains(t, string(f.fake.LastRequest()), "CONFIDENTIAL-BODY-TEXT")
	require.Equal(t, "updates", answers[0].Category)
}

func TestBadKeyIsAPlainError(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, used, err := f.client(llm.Config{APIKey: "sk-wrong"}).Classify(context.Background(), f.user, items(3))
	require.ErrorContains(t, err, "401 Unauthorized: Incorrect API key provided. (check the API key)")
	require.NotContains(t, err.Error(), "sk-wrong")
	var rl *llm.RateLimitedError
	require.False(t, errors.As(err, &rl))
	require.Equal(t, 1, used.Requests)
	require.Equal(t, 1, f.fake.Requests(), "not retried")
}

func TestDisabledClientRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, _, err := llm.New(llm.Config{BaseURL: f.url}, f.st, nil).Classify(context.Background(), f.user, items(1))
	require.ErrorContains(t, err, "not configured")
	require.Zero(t, f.fake.Requests())
}

func TestUnreachableEndpointIsRetriedThenAnError(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	c := llm.New(llm.Config{BaseURL: closed.URL + "/v1", Model: "m"}, f.st, nil)
	_, used, err := c.Classify(context.Background(), f.user, items(2))
	require.ErrorContains(t, err, "4 attempts failed")
	require.Equal(t, 4, used.Requests)
}
