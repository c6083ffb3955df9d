package fakegmail

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/api/gmail/v1"
)

func TestHistoryRecordsTypedChanges(t *testing.T) {
	t.Parallel()
	_, mb, svc := newFake(t, 50, Options{})
	ids := mb.MessageIDs()
	require.NoError(t, mb.ModifyLabels(ids[1], []string{"INBOX"}, []string{"TRASH", "SPAM"}))

	p, err := svc.Users.GetProfile("me").Do()
	require.NoError(t, err)
	start := p.HistoryId

	// Nothing happened yet: history is omitted, the cursor is returned.
	h, err := svc.Users.History.List("me").StartHistoryId(start).Do()
	require.NoError(t, err)
	require.Nil(t, h.History)
	require.Equal(t, start, h.HistoryId)

	_, err = svc.Users.Messages.Modify("me", ids[0], &gmail.ModifyMessageRequest{AddLabelIds: []string{"STARRED"}}).Do()
	require.NoError(t, err)
	// A no-op change records nothing.
	_, err = svc.Users.Messages.Modify("me", ids[0], &gmail.ModifyMessageRequest{AddLabelIds: []string{"STARRED"}}).Do()
	require.NoError(t, err)
	_, err = svc.Users.Messages.Trash("me", ids[1]).Do()
	require.NoError(t, err)
	newID := addMessage(t, mb, NewMessage{From: "x@example.org", Subject: "new mail", Text: "hello"}) // server-side arrival
	require.NoError(t, mb.DeleteMessage(ids[2]))

	h, err = svc.Users.History.List("me").StartHistoryId(start).Do()
	require.NoError(t, err)
	require.Len(t, h.History, 4)
	require.Equal(t, mb.HistoryID(), h.HistoryId)
	prev := start
	for _, rec := range h.History {
		require.Greater(t, rec.Id, prev, "history ids increase")
		prev = rec.Id
		require.Len(t, rec.Messages, 1)
	}

	starred := h.History[0]
	require.Len(t, starred.LabelsAdded, 1)
	require.Equal(t, ids[0], starred.LabelsAdded[0].Message.Id)
	require.Equal(t, []string{"STARRED"}, starred.LabelsAdded[0].LabelIds)
	require.Contains(t, starred.LabelsAdded[0].Message.LabelIds, "STARRED")
	require.Empty(t, starred.LabelsRemoved)

	// Trash is one record: +TRASH and -INBOX.
	trash := h.History[1]
	require.Equal(t, []string{"TRASH"}, trash.LabelsAdded[0].LabelIds)
	require.Equal(t, []string{"INBOX"}, trash.LabelsRemoved[0].LabelIds)

	added := h.History[2]
	require.Len(t, added.MessagesAdded, 1)
	require.Equal(t, newID, added.MessagesAdded[0].Message.Id)
	require.Equal(t, newID, added.MessagesAdded[0].Message.ThreadId)

	deleted := h.History[3]
	require.Len(t, deleted.MessagesDeleted, 1)
	require.Equal(t, ids[2], deleted.MessagesDeleted[0].Message.Id)

	// historyTypes filters records and strips other arrays.
	h, err = svc.Users.History.List("me").StartHistoryId(start).HistoryTypes("labelAdded").Do()
	require.NoError(t, err)
	require.Len(t, h.History, 2)
	for _, rec := range h.History {
		require.NotEmpty(t, rec.LabelsAdded)
		require.Empty(t, rec.LabelsRemoved)
		require.Empty(t, rec.MessagesAdded)
	}
	h, err = svc.Users.History.List("me").StartHistoryId(start).HistoryTypes("messageAdded", "messageDeleted").Do()
	require.NoError(t, err)
	require.Len(t, h.History, 2)

	// labelId keeps records touching that label.
	h, err = svc.Users.History.List("me").StartHistoryId(start).LabelId("TRASH").Do()
	require.NoError(t, err)
	require.Len(t, h.History, 1)
	require.Equal(t, ids[1], h.History[0].Messages[0].Id)

	// Paging.
	var pages, records int
	token := ""
	for {
		h, err = svc.Users.History.List("me").StartHistoryId(start).MaxResults(1).PageToken(token).Do()
		require.NoError(t, err)
		pages++
		records += len(h.History)
		if h.NextPageToken == "" {
			break
		}
		token = h.NextPageToken
	}
	require.Equal(t, 4, pages)
	require.Equal(t, 4, records)

	// A cursor at the current id sees nothing new.
	h, err = svc.Users.History.List("me").StartHistoryId(mb.HistoryID()).Do()
	require.NoError(t, err)
	require.Empty(t, h.History)
}

func TestHistoryErrors(t *testing.T) {
	t.Parallel()
	fake, mb, svc := newFake(t, 10, Options{})
	start := mb.HistoryID()
	require.NoError(t, mb.ModifyLabels(mb.MessageIDs()[0], []string{"STARRED"}, nil))

	// The client omits a zero startHistoryId: Gmail answers 400.
	_, err := svc.Users.History.List("me").Do()
	ge := requireAPIError(t, err, http.StatusBadRequest, "invalidArgument")
	require.Contains(t, ge.Message, "startHistoryId")

	_, err = svc.Users.History.List("me").StartHistoryId(start).MaxResults(501).Do()
	requireAPIError(t, err, http.StatusBadRequest, "invalidArgument")

	_, err = svc.Users.History.List("me").StartHistoryId(start).HistoryTypes("bogus").Do()
	requireAPIError(t, err, http.StatusBadRequest, "invalidArgument")

	// Older than the retained floor: 404, the signal for a full resync.
	_, err = svc.Users.History.List("me").StartHistoryId(start - 1).Do()
	ge = requireAPIError(t, err, http.StatusNotFound, "notFound")
	require.Equal(t, "Requested entity was not found.", ge.Message)

	require.NoError(t, fake.ExpireHistoryBefore("ME@example.com", mb.HistoryID()))
	require.ErrorIs(t, fake.ExpireHistoryBefore("nobody@example.com", 1), ErrNotFound)
	_, err = svc.Users.History.List("me").StartHistoryId(start).Do()
	requireAPIError(t, err, http.StatusNotFound, "notFound")
	h, err := svc.Users.History.List("me").StartHistoryId(mb.HistoryID()).Do()
	require.NoError(t, err)
	require.Empty(t, h.History)
}

func TestHistoryIDsHaveGapsAndAreDeterministic(t *testing.T) {
	t.Parallel()
	run := func() []uint64 {
		mb := Generate(11, 20, GenerateOptions{})
		fresh, err := mb.CreateLabel("Fresh")
		require.NoError(t, err)
		var out []uint64
		for _, id := range mb.MessageIDs()[:10] {
			require.NoError(t, mb.ModifyLabels(id, []string{fresh}, nil))
			out = append(out, mb.HistoryID())
		}
		return out
	}
	a, b := run(), run()
	require.Equal(t, a, b)
	gaps := 0
	for i := 1; i < len(a); i++ {
		require.Greater(t, a[i], a[i-1])
		if a[i]-a[i-1] > 1 {
			gaps++
		}
	}
	require.Positive(t, gaps, "history ids should not be contiguous")
}
