package fakegmail

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/api/gmail/v1"
)

func TestListPagesReturnEveryIDOnce(t *testing.T) {
	t.Parallel()
	fake, mb, svc := newFake(t, 1234, Options{})
	ctx := context.Background()

	var got []string
	pages := 0
	err := svc.Users.Messages.List("me").MaxResults(500).IncludeSpamTrash(true).Pages(ctx, func(r *gmail.ListMessagesResponse) error {
		pages++
		require.LessOrEqual(t, len(r.Messages), 500)
		for _, m := range r.Messages {
			got = append(got, m.Id)
			require.Len(t, m.Id, 16)
			require.Len(t, m.ThreadId, 16)
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 3, pages)
	require.Len(t, got, 1234)
	seen := make(map[string]bool, len(got))
	for _, id := range got {
		require.False(t, seen[id], "duplicate id %s", id)
		seen[id] = true
	}
	// Newest first: the same order as the store's.
	require.Equal(t, mb.MessageIDs(), got)

	var units int
	for _, r := range fake.Requests() {
		require.Equal(t, "messages.list", r.Operation)
		require.Equal(t, http.StatusOK, r.Status)
		units += r.Units
	}
	require.Equal(t, 15, units)
	require.Equal(t, int64(15), fake.UnitsUsed("me@example.com"))

	// Without includeSpamTrash, SPAM and TRASH are hidden.
	hidden := mb.CountLabel("SPAM") + mb.CountLabel("TRASH")
	require.Positive(t, hidden)
	var visible int
	err = svc.Users.Messages.List("me").MaxResults(500).Pages(ctx, func(r *gmail.ListMessagesResponse) error {
		visible += len(r.Messages)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 1234-hidden, visible)
}

func TestListValidation(t *testing.T) {
	t.Parallel()
	_, _, svc := newFake(t, 20, Options{})

	_, err := svc.Users.Messages.List("me").MaxResults(501).Do()
	requireAPIError(t, err, http.StatusBadRequest, "invalidArgument")

	_, err = svc.Users.Messages.List("me").PageToken("garbage").Do()
	requireAPIError(t, err, http.StatusBadRequest, "invalidArgument")

	// A page token is tied to its query.
	r, err := svc.Users.Messages.List("me").MaxResults(5).Do()
	require.NoError(t, err)
	require.NotEmpty(t, r.NextPageToken)
	_, err = svc.Users.Messages.List("me").Q("is:unread").PageToken(r.NextPageToken).Do()
	requireAPIError(t, err, http.StatusBadRequest, "invalidArgument")

	// No matches: messages is omitted, the estimate is 0.
	r, err = svc.Users.Messages.List("me").Q("from:nobody@nowhere.invalid").Do()
	require.NoError(t, err)
	require.Nil(t, r.Messages)
	require.Zero(t, r.ResultSizeEstimate)
}

func TestGetAllFormats(t *testing.T) {
	t.Parallel()
	_, mb, svc := newFake(t, 400, Options{})
	ctx := context.Background()

	withAttachment, err := svc.Users.Messages.List("me").Q("has:attachment").MaxResults(1).Do()
	require.NoError(t, err)
	require.Len(t, withAttachment.Messages, 1)
	id := withAttachment.Messages[0].Id
	labels, err := mb.MessageLabels(id)
	require.NoError(t, err)

	minimal, err := svc.Users.Messages.Get("me", id).Format("minimal").Context(ctx).Do()
	require.NoError(t, err)
	require.Equal(t, id, minimal.Id)
	require.Equal(t, labels, minimal.LabelIds)
	require.Positive(t, minimal.HistoryId)    // decoded from a JSON string
	require.Positive(t, minimal.InternalDate) // decoded from a JSON string
	require.Positive(t, minimal.SizeEstimate)
	require.NotEmpty(t, minimal.Snippet)
	require.Nil(t, minimal.Payload)
	require.Empty(t, minimal.Raw)

	meta, err := svc.Users.Messages.Get("me", id).Format("metadata").
		MetadataHeaders("from", "SUBJECT", "Date", "X-Not-There").Do()
	require.NoError(t, err)
	require.NotNil(t, meta.Payload)
	var names []string
	for _, h := range meta.Payload.Headers {
		names = append(names, h.Name)
	}
	require.ElementsMatch(t, []string{"From", "Subject", "Date"}, names)
	require.Empty(t, meta.Payload.Parts)
	require.Equal(t, minimal.Snippet, meta.Snippet)

	full, err := svc.Users.Messages.Get("me", id).Do() // default format is full
	require.NoError(t, err)
	require.Equal(t, "multipart/mixed", full.Payload.MimeType)
	require.Equal(t, "", full.Payload.PartId)
	require.Len(t, full.Payload.Parts, 2)
	alt := full.Payload.Parts[0]
	require.Equal(t, "0", alt.PartId)
	require.Equal(t, "multipart/alternative", alt.MimeType)
	require.Equal(t, "0.0", alt.Parts[0].PartId)
	require.Equal(t, "text/plain", alt.Parts[0].MimeType)
	text, err := base64.URLEncoding.DecodeString(alt.Parts[0].Body.Data)
	require.NoError(t, err)
	require.Equal(t, int64(len(text)), alt.Parts[0].Body.Size)
	firstWord := strings.Fields(string(text))[0]
	require.True(t, strings.HasPrefix(minimal.Snippet, firstWord), "snippet %q should start with %q", minimal.Snippet, firstWord)

	att := full.Payload.Parts[1]
	require.NotEmpty(t, att.Filename)
	require.NotEmpty(t, att.Body.AttachmentId)
	require.Empty(t, att.Body.Data)
	body, err := svc.Users.Messages.Attachments.Get("me", id, att.Body.AttachmentId).Do()
	require.NoError(t, err)
	data, err := base64.URLEncoding.DecodeString(body.Data)
	require.NoError(t, err)
	require.Equal(t, att.Body.Size, int64(len(data)))
	require.Equal(t, body.Size, int64(len(data)))

	raw, err := svc.Users.Messages.Get("me", id).Format("raw").Do()
	require.NoError(t, err)
	require.Nil(t, raw.Payload)
	rfc822, err := base64.URLEncoding.DecodeString(raw.Raw)
	require.NoError(t, err)
	require.Equal(t, raw.SizeEstimate, int64(len(rfc822)))
	require.Equal(t, minimal.SizeEstimate, raw.SizeEstimate)
	parsed, err := mail.ReadMessage(bytes.NewReader(rfc822))
	require.NoError(t, err)
	require.Equal(t, clientHeader(meta.Payload.Headers, "Subject"), parsed.Header.Get("Subject"))
	require.Contains(t, parsed.Header.Get("Content-Type"), "multipart/mixed")

	_, err = svc.Users.Messages.Get("me", "0123456789abcdef").Do()
	ge := requireAPIError(t, err, http.StatusNotFound, "notFound")
	require.Equal(t, "Requested entity was not found.", ge.Message)

	_, err = svc.Users.Messages.Get("me", id).Format("html").Do()
	requireAPIError(t, err, http.StatusBadRequest, "invalidArgument")
}

func TestFieldsSelectsPartialResponse(t *testing.T) {
	t.Parallel()
	_, _, svc := newFake(t, 50, Options{})
	r, err := svc.Users.Messages.List("me").MaxResults(10).Fields("messages(id),nextPageToken").Do()
	require.NoError(t, err)
	require.Len(t, r.Messages, 10)
	require.NotEmpty(t, r.NextPageToken)
	require.Zero(t, r.ResultSizeEstimate)
	for _, m := range r.Messages {
		require.NotEmpty(t, m.Id)
		require.Empty(t, m.ThreadId)
	}
	m, err := svc.Users.Messages.Get("me", r.Messages[0].Id).Format("metadata").Fields("id,payload/headers").Do()
	require.NoError(t, err)
	require.NotEmpty(t, m.Payload.Headers)
	require.Empty(t, m.Payload.MimeType)
	require.Zero(t, m.HistoryId)
}

func TestBatchModifyLimitsAndLabels(t *testing.T) {
	t.Parallel()
	fake, mb, svc := newFake(t, 1100, Options{})
	ids := mb.MessageIDs()

	err := svc.Users.Messages.BatchModify("me", &gmail.BatchModifyMessagesRequest{
		Ids: ids[:1001], AddLabelIds: []string{"STARRED"},
	}).Do()
	requireAPIError(t, err, http.StatusBadRequest, "invalidArgument")

	err = svc.Users.Messages.BatchModify("me", &gmail.BatchModifyMessagesRequest{
		Ids: ids[:10], AddLabelIds: []string{"Label_999"},
	}).Do()
	ge := requireAPIError(t, err, http.StatusBadRequest, "invalidArgument")
	require.Equal(t, "Invalid label: Label_999", ge.Message)

	work, ok := mb.LabelID("Work")
	require.True(t, ok)
	before := mb.HistoryID()
	err = svc.Users.Messages.BatchModify("me", &gmail.BatchModifyMessagesRequest{
		Ids: ids[:1000], AddLabelIds: []string{work}, RemoveLabelIds: []string{"INBOX", "UNREAD"},
	}).Do()
	require.NoError(t, err)
	for _, id := range ids[:1000] {
		labels, err := mb.MessageLabels(id)
		require.NoError(t, err)
		require.Contains(t, labels, work)
		require.NotContains(t, labels, "INBOX")
		require.NotContains(t, labels, "UNREAD")
	}
	require.Greater(t, mb.HistoryID(), before)

	reqs := fake.Requests()
	last := reqs[len(reqs)-1]
	require.Equal(t, "messages.batchModify", last.Operation)
	require.Equal(t, http.StatusNoContent, last.Status)
	require.Equal(t, 1000, last.BatchIDs)
	require.Equal(t, 50, last.Units)
	require.Equal(t, 1001, reqs[0].BatchIDs)
	require.Equal(t, 50, reqs[0].Units) // admitted calls are charged even when invalid

	// Repeating the same change is a no-op: no new history.
	h := mb.HistoryID()
	err = svc.Users.Messages.BatchModify("me", &gmail.BatchModifyMessagesRequest{
		Ids: ids[:1000], AddLabelIds: []string{work},
	}).Do()
	require.NoError(t, err)
	require.Equal(t, h, mb.HistoryID())
}

func TestBatchDeleteNeedsFullScope(t *testing.T) {
	t.Parallel()
	fake := New(Options{DefaultScopes: []string{ScopeModify}})
	mb := Generate(3, 30, GenerateOptions{})
	fake.AddMailbox(mb)
	_, svc := startServer(t, fake)
	ids := mb.MessageIDs()

	err := svc.Users.Messages.BatchDelete("me", &gmail.BatchDeleteMessagesRequest{Ids: ids[:5]}).Do()
	ge := requireAPIError(t, err, http.StatusForbidden, "insufficientPermissions")
	require.Equal(t, "Request had insufficient authentication scopes.", ge.Message)
	require.Contains(t, ge.Body, `"status":"PERMISSION_DENIED"`)
	require.Equal(t, 30, mb.MessageCount())

	err = svc.Users.Messages.Delete("me", ids[0]).Do()
	requireAPIError(t, err, http.StatusForbidden, "insufficientPermissions")

	// gmail.modify may still trash.
	_, err = svc.Users.Messages.Trash("me", ids[0]).Do()
	require.NoError(t, err)

	// With the full scope the same call deletes and records history.
	full := New(Options{})
	full.AddMailbox(mb)
	_, fullSvc := startServer(t, full)
	start := mb.HistoryID()
	err = fullSvc.Users.Messages.BatchDelete("me", &gmail.BatchDeleteMessagesRequest{Ids: ids[:5]}).Do()
	require.NoError(t, err)
	require.Equal(t, 25, mb.MessageCount())
	h, err := fullSvc.Users.History.List("me").StartHistoryId(start).HistoryTypes("messageDeleted").Do()
	require.NoError(t, err)
	require.Len(t, h.History, 5)
	for i, rec := range h.History {
		require.Len(t, rec.MessagesDeleted, 1)
		require.Equal(t, ids[i], rec.MessagesDeleted[0].Message.Id)
	}

	err = fullSvc.Users.Messages.BatchDelete("me", &gmail.BatchDeleteMessagesRequest{Ids: make([]string, 1001)}).Do()
	requireAPIError(t, err, http.StatusBadRequest, "invalidArgument")
}

func TestTrashUntrashAndModify(t *testing.T) {
	t.Parallel()
	_, mb, svc := newFake(t, 0, Options{})
	id := addMessage(t, mb, NewMessage{From: "Ann <ann@example.org>", Subject: "hello", Text: "hi there", Date: testEpoch})

	m, err := svc.Users.Messages.Trash("me", id).Do()
	require.NoError(t, err)
	require.Contains(t, m.LabelIds, "TRASH")
	require.NotContains(t, m.LabelIds, "INBOX")

	m, err = svc.Users.Messages.Untrash("me", id).Do()
	require.NoError(t, err)
	require.Contains(t, m.LabelIds, "INBOX")
	require.NotContains(t, m.LabelIds, "TRASH")

	m, err = svc.Users.Messages.Modify("me", id, &gmail.ModifyMessageRequest{
		AddLabelIds: []string{"STARRED"}, RemoveLabelIds: []string{"UNREAD"},
	}).Do()
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"INBOX", "STARRED", "CATEGORY_PERSONAL"}, m.LabelIds)

	_, err = svc.Users.Messages.Modify("me", id, &gmail.ModifyMessageRequest{AddLabelIds: []string{"SENT"}}).Do()
	requireAPIError(t, err, http.StatusBadRequest, "invalidArgument")
	_, err = svc.Users.Messages.Modify("me", "00000000000000aa", &gmail.ModifyMessageRequest{}).Do()
	requireAPIError(t, err, http.StatusNotFound, "notFound")

	require.NoError(t, svc.Users.Messages.Delete("me", id).Do())
	require.Zero(t, mb.MessageCount())
}

func TestProfileAndUserIDs(t *testing.T) {
	t.Parallel()
	fake, mb, svc := newFake(t, 75, Options{})
	other := NewMailbox("Other@Example.net", 9)
	fake.AddMailbox(other)

	p, err := svc.Users.GetProfile("me").Do()
	require.NoError(t, err)
	require.Equal(t, "me@example.com", p.EmailAddress)
	require.Equal(t, int64(75), p.MessagesTotal)
	require.Equal(t, int64(mb.ThreadCount()), p.ThreadsTotal)
	require.Equal(t, mb.HistoryID(), p.HistoryId)

	// The address works as userId (URL-escaped by the client).
	p, err = svc.Users.GetProfile("other@example.net").Do()
	require.NoError(t, err)
	require.Equal(t, "Other@Example.net", p.EmailAddress)
	require.Zero(t, p.MessagesTotal)

	_, err = svc.Users.GetProfile("stranger@example.com").Do()
	requireAPIError(t, err, http.StatusForbidden, "forbidden")
}

func TestFaultInjection(t *testing.T) {
	t.Parallel()
	fake, mb, svc := newFake(t, 10, Options{})
	id := mb.MessageIDs()[0]

	fake.FailNext("messages.get", 2, http.StatusServiceUnavailable, "")
	for range 2 {
		_, err := svc.Users.Messages.Get("me", id).Do()
		requireAPIError(t, err, http.StatusServiceUnavailable, "backendError")
	}
	_, err := svc.Users.Messages.Get("me", id).Do()
	require.NoError(t, err)

	fake.FailNext("POST /gmail/v1/users/me/messages/*/trash", 1, http.StatusInternalServerError, "backendError")
	_, err = svc.Users.Messages.Trash("me", id).Do()
	requireAPIError(t, err, http.StatusInternalServerError, "backendError")
	_, err = svc.Users.Messages.Trash("me", id).Do()
	require.NoError(t, err)

	fake.ThrottleUser("me@example.com", 2, 3*time.Second)
	for range 2 {
		_, err = svc.Users.GetProfile("me").Do()
		ge := requireAPIError(t, err, http.StatusTooManyRequests, "userRateLimitExceeded")
		require.Equal(t, "3", ge.Header.Get("Retry-After"))
	}
	_, err = svc.Users.GetProfile("me").Do()
	require.NoError(t, err)

	// Faults are not charged.
	var charged int
	for _, r := range fake.Requests() {
		if r.Status >= 400 {
			charged += r.Units
		}
	}
	require.Zero(t, charged)

	fake.SetLatency(30 * time.Millisecond)
	start := time.Now()
	_, err = svc.Users.GetProfile("me").Do()
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
}

func TestAddMessageRawAndSearch(t *testing.T) {
	t.Parallel()
	_, mb, svc := newFake(t, 0, Options{})
	raw := "From: Shop <news@shop.example>\nTo: me@example.com\nSubject: =?UTF-8?Q?Caf=C3=A9_deals?=\n" +
		"Date: Mon, 02 Nov 2026 10:00:00 +0000\nList-Id: Shop News <news.shop.example>\n" +
		"List-Unsubscribe: <https://shop.example/u>\nContent-Type: text/plain; charset=UTF-8\n\nBig savings inside.\n"
	id := addMessage(t, mb, NewMessage{Raw: []byte(raw), LabelIDs: []string{"INBOX", "CATEGORY_PROMOTIONS"}})

	m, err := svc.Users.Messages.Get("me", id).Format("metadata").MetadataHeaders("Subject", "List-Unsubscribe").Do()
	require.NoError(t, err)
	require.Equal(t, "Café deals", m.Payload.Headers[0].Value) // RFC 2047 decoded
	require.Equal(t, "<https://shop.example/u>", m.Payload.Headers[1].Value)
	require.Equal(t, time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC).UnixMilli(), m.InternalDate)
	require.Equal(t, "Big savings inside.", m.Snippet)

	for _, q := range []string{"list:shop.example", "savings", "category:promotions from:shop", "subject:café"} {
		r, err := svc.Users.Messages.List("me").Q(q).Do()
		require.NoError(t, err)
		require.Len(t, r.Messages, 1, q)
	}
	r, err := svc.Users.Messages.List("me").Q("-list:shop.example").Do()
	require.NoError(t, err)
	require.Empty(t, r.Messages)
}

// clientHeader returns the first value of a header in a client message part.
func clientHeader(headers []*gmail.MessagePartHeader, name string) string {
	for _, h := range headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

func TestInvalidFieldsRejectedBeforeChanges(t *testing.T) {
	t.Parallel()
	_, mb, svc := newFake(t, 5, Options{})
	id := addMessage(t, mb, NewMessage{From: "a@example.org", Subject: "s", Text: "t"})
	before := mb.HistoryID()
	_, err := svc.Users.Messages.Trash("me", id).Fields("id(").Do()
	requireAPIError(t, err, http.StatusBadRequest, "invalidArgument")
	require.Equal(t, before, mb.HistoryID())
	labels, err := mb.MessageLabels(id)
	require.NoError(t, err)
	require.NotContains(t, labels, "TRASH")
	m, err := svc.Users.Messages.Trash("me", id).Fields("id,labelIds").Do()
	require.NoError(t, err)
	require.Contains(t, m.LabelIds, "TRASH")
	require.Empty(t, m.ThreadId)
}
