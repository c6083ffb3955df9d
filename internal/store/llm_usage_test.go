package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/store"
)

func TestLLMUsageAddsUpPerUserAndDay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := store.WithTx(inboxqtest.TestTx(t))
	ann, err := st.UserUpsert(ctx, "ann", inbox.RoleUser)
	require.NoError(t, err)
	bob, err := st.UserUpsert(ctx, "bob", inbox.RoleUser)
	require.NoError(t, err)
	// Late on the 1st in New York is the 2nd in UTC: days are UTC dates.
	day := time.Date(2026, 3, 1, 22, 0, 0, 0, time.FixedZone("EST", -5*3600))

	got, err := st.LLMUsageGet(ctx, ann.UserID, day)
	require.NoError(t, err)
	require.Zero(t, got, "nothing spent yet")

	require.NoError(t, st.LLMUsageAdd(ctx, ann.UserID, day, store.LLMUsage{Requests: 1, PromptTokens: 100, CompletionTokens: 10}))
	require.NoError(t, st.LLMUsageAdd(ctx, ann.UserID, day.Add(time.Hour), store.LLMUsage{Requests: 2, PromptTokens: 50, CompletionTokens: 5}))
	require.NoError(t, st.LLMUsageAdd(ctx, bob.UserID, day, store.LLMUsage{Requests: 7, PromptTokens: 7, CompletionTokens: 7}))

	got, err = st.LLMUsageGet(ctx, ann.UserID, time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Equal(t, store.LLMUsage{Requests: 3, PromptTokens: 150, CompletionTokens: 15}, got)
	got, err = st.LLMUsageGet(ctx, ann.UserID, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	require.Zero(t, got)
}
