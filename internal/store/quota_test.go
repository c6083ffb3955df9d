package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/store"
)

// Units are taken from every bucket or from none: a project budget that
// says "wait" leaves the user's bucket untouched (it used to lose them).
func TestQuotaTakeAllIsAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	st := store.New(s.Pool)
	user := store.QuotaBucket{Name: "user:a", Rate: 1, Burst: 100}
	project := store.QuotaBucket{Name: "project", Rate: 1, Burst: 10}

	wait, bucket, err := st.QuotaTakeAll(ctx, 10, user, project)
	require.NoError(t, err)
	require.Zero(t, wait)
	require.Empty(t, bucket)

	// The project is spent: nothing is taken anywhere, and the answer
	// names the project.
	wait, bucket, err = st.QuotaTakeAll(ctx, 10, user, project)
	require.NoError(t, err)
	require.Greater(t, wait, 5*time.Second)
	require.Equal(t, "project", bucket)
	var tokens float64
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT tokens FROM gmail_quota WHERE bucket = 'user:a'`).Scan(&tokens))
	require.InDelta(t, 90, tokens, 1, "the user's units were not lost")

	// A bucket blocked by Google's Retry-After makes everyone wait.
	until := time.Now().Add(time.Minute)
	require.NoError(t, st.QuotaBlock(ctx, "user:a", until))
	wait, bucket, err = st.QuotaTakeAll(ctx, 1, user, store.QuotaBucket{Name: "project2", Rate: 1, Burst: 10})
	require.NoError(t, err)
	require.Equal(t, "user:a", bucket)
	require.Greater(t, wait, 50*time.Second)
}

// Concurrent takers that waited for the bucket's lock never compute a
// negative refill (the clock is read after the lock): the total taken never
// exceeds the burst plus what refilled.
func TestQuotaTakeAllUnderContention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	st := store.New(s.Pool)
	b := store.QuotaBucket{Name: "hot", Rate: 0.001, Burst: 50}
	start := time.Now()
	taken := make(chan bool, 200)
	for range 200 {
		go func() {
			wait, _, err := st.QuotaTakeAll(ctx, 1, b)
			taken <- err == nil && wait == 0
		}()
	}
	n := 0
	for range 200 {
		if <-taken {
			n++
		}
	}
	refill := time.Since(start).Seconds() * b.Rate
	require.LessOrEqual(t, float64(n), b.Burst+refill+1)
	require.GreaterOrEqual(t, n, 50, "the whole burst was usable")
	var tokens float64
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT tokens FROM gmail_quota WHERE bucket = 'hot'`).Scan(&tokens))
	require.GreaterOrEqual(t, tokens, 0.0, "never below empty")
}

// Each bucket gives its own units, all or nothing: one request and many
// tokens in one statement.
func TestQuotaTakeEach(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	st := store.New(s.Pool)
	requests := store.QuotaBucket{Name: "llm:requests", Rate: 0.001, Burst: 10}
	tokens := store.QuotaBucket{Name: "llm:tokens", Rate: 0.001, Burst: 1000}

	wait, bucket, err := st.QuotaTakeEach(ctx, store.QuotaClaim{QuotaBucket: requests, Units: 1}, store.QuotaClaim{QuotaBucket: tokens, Units: 600})
	require.NoError(t, err)
	require.Zero(t, wait)
	require.Empty(t, bucket)

	// 600 more tokens do not fit: nothing is taken, not even the request.
	wait, bucket, err = st.QuotaTakeEach(ctx, store.QuotaClaim{QuotaBucket: requests, Units: 1}, store.QuotaClaim{QuotaBucket: tokens, Units: 600})
	require.NoError(t, err)
	require.Equal(t, "llm:tokens", bucket)
	require.Greater(t, wait, time.Hour)
	peek := func(b store.QuotaBucket) float64 {
		n, err := st.QuotaPeek(ctx, b.Name, b.Rate, b.Burst)
		require.NoError(t, err)
		return n
	}
	require.InDelta(t, 9, peek(requests), 0.5)
	require.InDelta(t, 400, peek(tokens), 0.5)

	// inboxq_quota_take_all is now a call of take_each: same units everywhere.
	wait, _, err = st.QuotaTakeAll(ctx, 5, requests, tokens)
	require.NoError(t, err)
	require.Zero(t, wait)
	require.InDelta(t, 4, peek(requests), 0.5)
	require.InDelta(t, 395, peek(tokens), 0.5)
}

// A charge after the fact may leave a bucket in debt, which the next taker
// waits for; a refund never fills it past its burst.
func TestQuotaCharge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	st := store.New(s.Pool)
	b := store.QuotaBucket{Name: "llm:user:1:tokens", Rate: 1, Burst: 100}

	wait, _, err := st.QuotaTakeEach(ctx, store.QuotaClaim{QuotaBucket: b, Units: 100})
	require.NoError(t, err)
	require.Zero(t, wait)
	require.NoError(t, st.QuotaCharge(ctx, store.QuotaClaim{QuotaBucket: b, Units: 200}))
	n, err := st.QuotaPeek(ctx, b.Name, b.Rate, b.Burst)
	require.NoError(t, err)
	require.Less(t, n, -150.0, "in debt")
	wait, bucket, err := st.QuotaTakeEach(ctx, store.QuotaClaim{QuotaBucket: b, Units: 1})
	require.NoError(t, err)
	require.Equal(t, b.Name, bucket)
	require.Greater(t, wait, 150*time.Second)

	require.NoError(t, st.QuotaCharge(ctx, store.QuotaClaim{QuotaBucket: b, Units: -1000}))
	n, err = st.QuotaPeek(ctx, b.Name, b.Rate, b.Burst)
	require.NoError(t, err)
	require.InDelta(t, 100, n, 0.001, "a refund stops at the burst")
}
