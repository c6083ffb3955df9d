package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/store"
)

// A bulk action's relabel, a classify batch, a sync's upsert, corrections
// and deletes write the same messages at once without deadlocking: each
// locks its rows in id order, whatever order its input is in. (A bulk
// action that deadlocked with classification was retried and sent its
// Gmail batch twice.)
func TestMessageWritersQueueInsteadOfDeadlocking(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	st := store.New(s.Pool)
	owner, err := st.UserUpsert(ctx, "locks", inbox.RoleUser)
	require.NoError(t, err)
	acct, err := st.AccountUpsert(ctx, owner.UserID, "locks@example.com", []string{})
	require.NoError(t, err)
	const n = 300
	msgs := make([]inbox.Message, n)
	ids := make([]string, n)
	for i := range msgs {
		ids[i] = fmt.Sprintf("m%04d", i)
		msgs[i] = inbox.Message{ID: ids[i], ThreadID: "t", From: "a@example.com", Date: time.Now(), Labels: []string{"INBOX"}}
	}
	require.NoError(t, st.MessageUpsert(ctx, acct.ID, msgs))

	shuffled := func(seed uint64) []string {
		out := append([]string(nil), ids...)
		rand.New(rand.NewPCG(seed, 1)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		return out
	}
	writers := []func(round int) error{
		func(round int) error {
			return st.MessageRelabel(ctx, acct.ID, shuffled(uint64(round)), []string{"Label_1"}, nil)
		},
		func(round int) error {
			var ds []store.ClassifyDecision
			for _, id := range shuffled(uint64(round) + 1000) {
				ds = append(ds, store.ClassifyDecision{ID: id, Category: []string{"primary", "spam"}[round%2], Confidence: 0.9, Source: "model"})
			}
			_, err := st.MessageClassifySave(ctx, acct.ID, ds)
			return err
		},
		func(round int) error {
			ms := append([]inbox.Message(nil), msgs...)
			rand.New(rand.NewPCG(uint64(round), 2)).Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
			return st.MessageUpsert(ctx, acct.ID, ms)
		},
		func(round int) error {
			c := "forums"
			_, err := st.MessageSetCorrection(ctx, acct.ID, shuffled(uint64(round)+2000), &c)
			return err
		},
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(writers)*2)
	for w, write := range writers {
		for range 2 {
			wg.Go(func() {
				for round := range 15 {
					if err := write(round*10 + w); err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
