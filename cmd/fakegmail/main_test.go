package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"google.golang.org/api/gmail/v1"
	"google.golang.org/api/option"
)

// The process starts with its flags' mailboxes, prints where it listens,
// and the control API drives it: a refresh token for the real client, the
// calls that named a message twice, the mailbox's labels, a delay, a new
// mailbox. It stops when its context ends.
func TestControlAPI(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"fakegmail", "-client-id", "cid", "-client-secret", "csec", "-mailbox", "a@example.com=40"}, pw)
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	require.True(t, ok, line)
	go func() { _, _ = io.Copy(io.Discard, pr) }()

	var st MailboxState
	call(t, http.MethodGet, base+"/_fake/mailboxes/a@example.com", nil, http.StatusOK, &st)
	require.Equal(t, 40, st.Messages)
	require.Equal(t, "INBOX", st.LabelNames["INBOX"])

	var tok map[string]string
	call(t, http.MethodPost, base+"/_fake/tokens", TokenRequest{Address: "a@example.com", Scopes: []string{"https://www.googleapis.com/auth/gmail.modify"}}, http.StatusCreated, &tok)
	call(t, http.MethodPost, base+"/_fake/tokens", TokenRequest{Address: "nobody@example.com"}, http.StatusNotFound, nil)
	oc := &oauth2.Config{ClientID: "cid", ClientSecret: "csec", Endpoint: oauth2.Endpoint{TokenURL: base + "/token"}}
	svc, err := gmail.NewService(ctx, option.WithEndpoint(base+"/"),
		option.WithTokenSource(oc.TokenSource(ctx, &oauth2.Token{RefreshToken: tok["refresh_token"]})))
	require.NoError(t, err)

	var ids []string
	for id := range st.MessageLabels {
		ids = append(ids, id)
	}
	label, err := svc.Users.Labels.Create("me", &gmail.Label{Name: "chaos"}).Do()
	require.NoError(t, err)
	// The first batch is sent twice, as after a crash; one message is read twice.
	for _, batch := range [][]string{ids[:10], ids[:10], ids[10:]} {
		require.NoError(t, svc.Users.Messages.BatchModify("me", &gmail.BatchModifyMessagesRequest{Ids: batch, AddLabelIds: []string{label.Id}}).Do())
	}
	for range 2 {
		_, err := svc.Users.Messages.Get("me", ids[0]).Format("minimal").Do()
		require.NoError(t, err)
	}
	_, err = svc.Users.Messages.Get("me", "0000000000000000").Format("minimal").Do()
	require.Error(t, err, "a failed call is logged, not counted")

	var calls struct {
		Ops map[string]OperationCalls `json:"ops"`
	}
	call(t, http.MethodGet, base+"/_fake/calls?user=A@example.com", nil, http.StatusOK, &calls)
	require.Equal(t, OperationCalls{Calls: 3, IDs: 40, RepeatedIDs: 10, Repeats: 10}, calls.Ops["messages.batchModify"])
	require.Equal(t, OperationCalls{Calls: 2, IDs: 1, RepeatedIDs: 1, Repeats: 1}, calls.Ops["messages.get"])
	require.Equal(t, 1, calls.Ops["labels.create"].Calls)

	var log struct {
		Requests []Request `json:"requests"`
	}
	call(t, http.MethodGet, base+"/_fake/requests?op=messages.get", nil, http.StatusOK, &log)
	require.Len(t, log.Requests, 3)
	require.Equal(t, http.StatusNotFound, log.Requests[2].Status)
	require.Equal(t, []string{ids[0]}, log.Requests[0].IDs)

	call(t, http.MethodGet, base+"/_fake/mailboxes/a@example.com", nil, http.StatusOK, &st)
	require.Equal(t, "chaos", st.LabelNames[label.Id])
	require.Equal(t, 40, st.LabelCounts[label.Id])
	require.Contains(t, st.MessageLabels[ids[0]], label.Id)

	// A delay holds the mailbox's calls; clearing it releases them.
	call(t, http.MethodPost, base+"/_fake/delays", DelayRequest{Pattern: "getProfile", User: "a@example.com", BeforeMS: 300}, http.StatusNoContent, nil)
	start := time.Now()
	_, err = svc.Users.GetProfile("me").Do()
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
	call(t, http.MethodDelete, base+"/_fake/delays", nil, http.StatusNoContent, nil)
	call(t, http.MethodPost, base+"/_fake/delays", DelayRequest{}, http.StatusUnprocessableEntity, nil)

	// Mailboxes added at run time, once per address.
	end := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	call(t, http.MethodPost, base+"/_fake/mailboxes", NewMailbox{Address: "b@example.com", Messages: 25, Seed: 7, End: end}, http.StatusCreated, &st)
	require.Equal(t, 25, st.Messages)
	call(t, http.MethodPost, base+"/_fake/mailboxes", NewMailbox{Address: "b@example.com", Messages: 5}, http.StatusConflict, nil)
	call(t, http.MethodPost, base+"/_fake/mailboxes", map[string]any{"address": "c@example.com", "bogus": 1}, http.StatusBadRequest, nil)

	cancel()
	require.NoError(t, <-done)
}

func TestFlags(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.ErrorContains(t, run(context.Background(), []string{"fakegmail", "-mailbox", "nobody"}, &out), "ADDRESS=MESSAGES")
	require.ErrorContains(t, run(context.Background(), []string{"fakegmail", "extra"}, &out), "unexpected arguments")
}

// call sends a JSON request and decodes the JSON answer into out.
func call(t *testing.T, method, url string, body any, status int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, status, resp.StatusCode, string(raw))
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out), string(raw))
	}
}
