package fakegmail

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/api/gmail/v1"
)

// A call held after it acted keeps its change when the client gives up:
// the client sees an error, Gmail (the fake) applied the batch, and the log
// names the ids it was sent.
func TestDelayAfterKeepsTheChangeOfAnAbandonedCall(t *testing.T) {
	t.Parallel()
	fake, mb, svc := newFake(t, 20, Options{})
	ids := mb.MessageIDs()[:3]
	fake.AddDelay(Delay{Pattern: "messages.batchModify", User: "ME@example.com", After: time.Minute})

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := svc.Users.Messages.BatchModify("me", &gmail.BatchModifyMessagesRequest{Ids: ids, AddLabelIds: []string{"STARRED"}}).Context(ctx).Do()
	require.Error(t, err, "the client gave up while the response was held")
	for _, id := range ids {
		labels, err := mb.MessageLabels(id)
		require.NoError(t, err)
		require.Contains(t, labels, "STARRED", "applied before the wait")
	}
	waitFor(t, 10*time.Second, func() bool {
		return slices.ContainsFunc(fake.Requests(), func(r RequestRecord) bool { return r.Operation == "messages.batchModify" })
	})
	i := slices.IndexFunc(fake.Requests(), func(r RequestRecord) bool { return r.Operation == "messages.batchModify" })
	require.Equal(t, ids, fake.Requests()[i].IDs)

	// Another mailbox's calls and other operations are not held.
	_, err = svc.Users.Messages.Get("me", ids[0]).Format("minimal").Do()
	require.NoError(t, err)
	require.Equal(t, []string{ids[0]}, fake.Requests()[len(fake.Requests())-1].IDs)
	fake.ClearDelays()
	require.NoError(t, svc.Users.Messages.BatchModify("me", &gmail.BatchModifyMessagesRequest{Ids: ids, RemoveLabelIds: []string{"STARRED"}}).Do())
}

// A delay before the call holds it before it acts: a client that gives up
// changes nothing.
func TestDelayBeforeHoldsTheCallBeforeItActs(t *testing.T) {
	t.Parallel()
	fake, mb, svc := newFake(t, 20, Options{})
	id := mb.MessageIDs()[0]
	fake.AddDelay(Delay{Pattern: "POST /gmail/v1/users/me/messages/*/modify", Before: time.Minute})
	fake.AddDelay(Delay{Pattern: "messages.get", User: "other@example.com", Before: time.Minute})

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := svc.Users.Messages.Modify("me", id, &gmail.ModifyMessageRequest{AddLabelIds: []string{"STARRED"}}).Context(ctx).Do()
	require.Error(t, err)
	labels, err := mb.MessageLabels(id)
	require.NoError(t, err)
	require.NotContains(t, labels, "STARRED")

	start := time.Now()
	_, err = svc.Users.Messages.Get("me", id).Format("minimal").Do()
	require.NoError(t, err)
	require.Less(t, time.Since(start), 30*time.Second, "another mailbox's delay does not apply")
}
