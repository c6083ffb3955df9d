package fakegmail

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/gmail/v1"
)

func TestMailboxGoAPIErrors(t *testing.T) {
	t.Parallel()
	mb := NewMailbox("me@example.com", 1)
	_, err := mb.MessageLabels("00000000000000ff")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = mb.MessageLabels("not-hex")
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.ErrorIs(t, mb.DeleteMessage("00000000000000ff"), ErrNotFound)

	id := addMessage(t, mb, NewMessage{From: "a@example.org", Subject: "s", Text: "t"})
	require.ErrorIs(t, mb.ModifyLabels(id, []string{"Label_77"}, nil), ErrInvalidArgument)
	_, err = mb.AddMessage(NewMessage{LabelIDs: []string{"NOPE"}})
	require.ErrorIs(t, err, ErrInvalidArgument)

	l, err := mb.CreateLabel("Receipts")
	require.NoError(t, err)
	_, err = mb.CreateLabel("receipts")
	require.ErrorIs(t, err, ErrConflict)
	got, ok := mb.LabelID("RECEIPTS")
	require.True(t, ok)
	require.Equal(t, l, got)
	require.NoError(t, mb.ModifyLabels(id, []string{l}, []string{"UNREAD"}))
	require.Equal(t, 1, mb.CountLabel(l))
	require.Zero(t, mb.CountLabel("UNREAD"))
	require.NoError(t, mb.DeleteLabel(l))
	require.Zero(t, mb.CountLabel(l))
	require.ErrorIs(t, mb.DeleteLabel("INBOX"), ErrInvalidArgument)
}

// TestConcurrentUse runs clients and server-side mutations together; with
// -race it proves the store's locking.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	fake, mb, svc := newFake(t, 300, Options{MaxConcurrentPerUser: -1})
	ctx := context.Background()
	ids := mb.MessageIDs()
	var wg sync.WaitGroup
	// assert, not require: FailNow must not run off the test goroutine.
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < 60; i += 4 {
				_, err := svc.Users.Messages.Get("me", ids[i]).Format("full").Context(ctx).Do()
				assert.NoError(t, err)
				_, err = svc.Users.Messages.Modify("me", ids[i], &gmail.ModifyMessageRequest{AddLabelIds: []string{"STARRED"}}).Do()
				assert.NoError(t, err)
				_, err = svc.Users.Messages.List("me").Q("is:starred").MaxResults(20).Do()
				assert.NoError(t, err)
			}
		})
	}
	wg.Go(func() {
		for range 40 {
			_, err := mb.AddMessage(NewMessage{From: "x@example.org", Subject: "new", Text: "body"})
			assert.NoError(t, err)
		}
	})
	wg.Wait()
	require.Equal(t, 340, mb.MessageCount())
	for _, id := range ids[:60] {
		labels, err := mb.MessageLabels(id)
		require.NoError(t, err)
		require.Contains(t, labels, "STARRED")
	}
	require.Len(t, fake.Requests(), 180)
}
