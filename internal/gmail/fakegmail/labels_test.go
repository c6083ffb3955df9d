package fakegmail

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/api/gmail/v1"
)

func TestLabelsCRUD(t *testing.T) {
	t.Parallel()
	fake := New(Options{})
	mb := NewMailbox("me@example.com", 1)
	fake.AddMailbox(mb)
	_, svc := startServer(t, fake)
	a := addMessage(t, mb, NewMessage{From: "a@example.org", Subject: "a", Text: "a"})
	b := addMessage(t, mb, NewMessage{From: "b@example.org", Subject: "b", Text: "b", LabelIDs: []string{"INBOX"}})

	list, err := svc.Users.Labels.List("me").Do()
	require.NoError(t, err)
	var system []string
	for _, l := range list.Labels {
		require.Equal(t, "system", l.Type)
		require.Zero(t, l.MessagesTotal, "labels.list has no counts")
		system = append(system, l.Id)
	}
	require.ElementsMatch(t, systemLabelIDs(), system)

	created, err := svc.Users.Labels.Create("me", &gmail.Label{
		Name: "AI/Newsletter", LabelListVisibility: "labelShow", MessageListVisibility: "show",
	}).Do()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(created.Id, "Label_"), created.Id)
	require.Equal(t, "user", created.Type)

	_, err = svc.Users.Labels.Create("me", &gmail.Label{Name: "ai/newsletter"}).Do()
	ge := requireAPIError(t, err, http.StatusConflict, "aborted")
	require.Equal(t, "Label name exists or conflicts", ge.Message)
	_, err = svc.Users.Labels.Create("me", &gmail.Label{Name: "Inbox"}).Do()
	requireAPIError(t, err, http.StatusBadRequest, "invalidArgument")

	err = svc.Users.Messages.BatchModify("me", &gmail.BatchModifyMessagesRequest{Ids: []string{a, b}, AddLabelIds: []string{created.Id}}).Do()
	require.NoError(t, err)

	got, err := svc.Users.Labels.Get("me", created.Id).Do()
	require.NoError(t, err)
	require.Equal(t, int64(2), got.MessagesTotal)
	require.Equal(t, int64(1), got.MessagesUnread) // only a is UNREAD
	require.Equal(t, int64(2), got.ThreadsTotal)
	require.Equal(t, int64(1), got.ThreadsUnread)

	patched, err := svc.Users.Labels.Patch("me", created.Id, &gmail.Label{Name: "AI/News"}).Do()
	require.NoError(t, err)
	require.Equal(t, "AI/News", patched.Name)
	require.Equal(t, "labelShow", patched.LabelListVisibility, "patch keeps unset fields")

	updated, err := svc.Users.Labels.Update("me", created.Id, &gmail.Label{Name: "AI/Bulk"}).Do()
	require.NoError(t, err)
	require.Equal(t, "AI/Bulk", updated.Name)
	require.Empty(t, updated.LabelListVisibility, "update replaces")

	_, err = svc.Users.Labels.Patch("me", "INBOX", &gmail.Label{Name: "Mine"}).Do()
	requireAPIError(t, err, http.StatusBadRequest, "invalidArgument")

	start := mb.HistoryID()
	require.NoError(t, svc.Users.Labels.Delete("me", created.Id).Do())
	labels, err := mb.MessageLabels(a)
	require.NoError(t, err)
	require.NotContains(t, labels, created.Id)
	h, err := svc.Users.History.List("me").StartHistoryId(start).HistoryTypes("labelRemoved").Do()
	require.NoError(t, err)
	require.Len(t, h.History, 2)

	_, err = svc.Users.Labels.Get("me", created.Id).Do()
	requireAPIError(t, err, http.StatusNotFound, "notFound")
	err = svc.Users.Labels.Delete("me", "INBOX").Do()
	requireAPIError(t, err, http.StatusBadRequest, "invalidArgument")

	// Ids are never reused.
	again, err := svc.Users.Labels.Create("me", &gmail.Label{Name: "AI/Newsletter"}).Do()
	require.NoError(t, err)
	require.NotEqual(t, created.Id, again.Id)
}
