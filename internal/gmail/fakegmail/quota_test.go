package fakegmail

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestUserQuotaWindow(t *testing.T) {
	t.Parallel()
	clock := NewManualClock(testEpoch)
	fake, mb, svc := newFake(t, 10, Options{UserUnitsPerMinute: 100, Now: clock.Now})
	id := mb.MessageIDs()[0]

	// 19 gets (5 units each) + 5 profiles (1 unit) = 100 units: the budget.
	for range 19 {
		_, err := svc.Users.Messages.Get("me", id).Format("minimal").Do()
		require.NoError(t, err)
	}
	clock.Advance(30 * time.Second)
	for range 5 {
		_, err := svc.Users.GetProfile("me").Do()
		require.NoError(t, err)
	}
	require.Equal(t, 100, fake.UnitsInWindow("me@example.com"))

	_, err := svc.Users.GetProfile("me").Do()
	ge := requireAPIError(t, err, http.StatusTooManyRequests, "userRateLimitExceeded")
	require.Contains(t, ge.Body, `"domain":"usageLimits"`)
	require.Contains(t, ge.Body, `"status":"RESOURCE_EXHAUSTED"`)
	// The first 95 units free up 60s after they were spent: 30s from now.
	retry, err := strconv.Atoi(ge.Header.Get("Retry-After"))
	require.NoError(t, err)
	require.Equal(t, 30, retry)
	at, ok := strings.CutPrefix(ge.Message, "User-rate limit exceeded.  Retry after ")
	require.True(t, ok, ge.Message)
	retryAt, err := time.Parse(time.RFC3339, at)
	require.NoError(t, err)
	require.Equal(t, clock.Now().Add(30*time.Second), retryAt)

	// Rejected calls are not charged.
	require.Equal(t, int64(100), fake.UnitsUsed("me@example.com"))

	clock.Advance(30 * time.Second)
	_, err = svc.Users.Messages.Get("me", id).Do()
	require.NoError(t, err)
	// The 5 profile units are still in the window, plus the new get.
	require.Equal(t, 10, fake.UnitsInWindow("me@example.com"))

	clock.Advance(time.Minute)
	require.Zero(t, fake.UnitsInWindow("me@example.com"))
}

func TestQuotaVariants(t *testing.T) {
	t.Parallel()
	clock := NewManualClock(testEpoch)

	// 403 flavour of the per-user limit.
	_, _, svc := newFake(t, 5, Options{UserUnitsPerMinute: 3, UserRateLimitStatus: http.StatusForbidden, Now: clock.Now})
	for range 3 {
		_, err := svc.Users.GetProfile("me").Do()
		require.NoError(t, err)
	}
	_, err := svc.Users.GetProfile("me").Do()
	ge := requireAPIError(t, err, http.StatusForbidden, "userRateLimitExceeded")
	require.NotEmpty(t, ge.Header.Get("Retry-After"))

	// Per-project limit across users.
	fake := New(Options{ProjectUnitsPerMinute: 2, Now: clock.Now})
	fake.AddMailbox(NewMailbox("a@example.com", 1))
	fake.AddMailbox(NewMailbox("b@example.com", 2))
	_, psvc := startServer(t, fake)
	_, err = psvc.Users.GetProfile("a@example.com").Do()
	require.NoError(t, err)
	_, err = psvc.Users.GetProfile("b@example.com").Do()
	require.NoError(t, err)
	_, err = psvc.Users.GetProfile("a@example.com").Do()
	ge = requireAPIError(t, err, http.StatusTooManyRequests, "rateLimitExceeded")
	require.Contains(t, ge.Message, "Queries per minute")

	// Method costs follow Gmail's table.
	costs := New(Options{Now: clock.Now})
	cmb := Generate(2, 5, GenerateOptions{})
	costs.AddMailbox(cmb)
	_, csvc := startServer(t, costs)
	id := cmb.MessageIDs()[0]
	_, err = csvc.Users.Messages.List("me").Do()
	require.NoError(t, err)
	_, err = csvc.Users.History.List("me").StartHistoryId(cmb.HistoryID()).Do()
	require.NoError(t, err)
	_, err = csvc.Users.Labels.List("me").Do()
	require.NoError(t, err)
	require.NoError(t, csvc.Users.Messages.Delete("me", id).Do())
	want := map[string]int{"messages.list": 5, "history.list": 2, "labels.list": 1, "messages.delete": 10}
	for _, r := range costs.Requests() {
		require.Equal(t, want[r.Operation], r.Units, r.Operation)
	}
	require.Equal(t, int64(18), costs.UnitsUsed("me@example.com"))
	costs.ResetLog()
	require.Empty(t, costs.Requests())
	require.Zero(t, costs.UnitsUsed("me@example.com"))
}

func TestConcurrentRequestLimit(t *testing.T) {
	t.Parallel()
	fake, _, svc := newFake(t, 5, Options{MaxConcurrentPerUser: 2})
	ctx := context.Background()

	resume := fake.Pause()
	defer resume()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			_, err := svc.Users.GetProfile("me").Context(ctx).Do()
			errs <- err
		})
	}
	waitFor(t, 5*time.Second, func() bool { return fake.InFlight("me@example.com") == 2 })

	_, err := svc.Users.Labels.List("me").Do()
	ge := requireAPIError(t, err, http.StatusTooManyRequests, "rateLimitExceeded")
	require.Equal(t, "Too many concurrent requests for user.", ge.Message)

	resume()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Zero(t, fake.InFlight("me@example.com"))
	_, err = svc.Users.Labels.List("me").Do()
	require.NoError(t, err)
}
