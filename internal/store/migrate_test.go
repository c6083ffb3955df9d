package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/store"
)

func TestMigrateTwiceIsANoOp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.EmptySchema(t)

	before, err := store.Status(ctx, s.Pool, s.Name)
	require.NoError(t, err)
	require.False(t, before.Current())
	require.Empty(t, before.Applied)
	all, err := store.Migrations()
	require.NoError(t, err)
	require.Len(t, before.Pending, len(all))

	first, err := store.Migrate(ctx, s.Pool, s.Name, inboxqtest.Logger(t))
	require.NoError(t, err)
	require.NotEmpty(t, first.River)
	require.Len(t, first.Inboxq, len(all))

	second, err := store.Migrate(ctx, s.Pool, s.Name, inboxqtest.Logger(t))
	require.NoError(t, err)
	require.Empty(t, second.River)
	require.Empty(t, second.Inboxq)

	after, err := store.Status(ctx, s.Pool, s.Name)
	require.NoError(t, err)
	require.True(t, after.Current(), "status after migrating: %+v", after)
	require.Len(t, after.Applied, len(all))
}

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.EmptySchema(t)

	// Each migrator has its own pool, as two processes would.
	const n = 4
	results := make([]store.MigrateResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		pool, err := store.Connect(ctx, s.URL, store.ConnectOptions{Schema: s.Name, MaxConns: 4})
		require.NoError(t, err)
		t.Cleanup(pool.Close)
		wg.Go(func() { results[i], errs[i] = store.Migrate(ctx, pool, s.Name, inboxqtest.Logger(t)) })
	}
	wg.Wait()

	all, err := store.Migrations()
	require.NoError(t, err)
	appliedRiver, appliedInboxq := 0, 0
	for i := range n {
		require.NoError(t, errs[i])
		appliedRiver += len(results[i].River)
		appliedInboxq += len(results[i].Inboxq)
	}
	st, err := store.Status(ctx, s.Pool, s.Name)
	require.NoError(t, err)
	require.True(t, st.Current())
	require.Equal(t, len(all), appliedInboxq, "each inboxq migration applied exactly once")
	require.Equal(t, 8, appliedRiver, "each of River's 8 migrations applied exactly once")
}

// River's GIN index on metadata is gone (0032); River's metadata filter,
// its only user, still finds the jobs whose metadata holds the fragment.
func TestRiverMetadataFilterWithoutItsIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}, NoRiverUI: true})

	require.Zero(t, ginIndexes(t, s.Schema, "metadata"), "River's GIN index on metadata")

	var want []int64
	for i, md := range []string{`{"batch":"a"}`, `{"batch":"b"}`, `{"batch":"a","n":2}`, `{}`} {
		res, err := s.Client.Insert(ctx, inboxqtest.EchoArgs{Message: fmt.Sprint("m", i)}, &river.InsertOpts{Metadata: []byte(md)})
		require.NoError(t, err)
		if i == 0 || i == 2 {
			want = append(want, res.Job.ID)
		}
	}
	got, err := s.Client.JobList(ctx, river.NewJobListParams().Metadata(`{"batch":"a"}`))
	require.NoError(t, err)
	var ids []int64
	for _, j := range got.Jobs {
		ids = append(ids, j.ID)
	}
	require.ElementsMatch(t, want, ids)
}
