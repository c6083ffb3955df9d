package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/auth"
	"github.com/inboxq/inboxq/internal/inboxqtest"
)

// Tests of the event streams' lifetime and limits: what ends a stream
// (revocation, expiry of the parent token, maximum life) and how many one
// user may hold.

// apiToken mints an API token for user and returns its secret and id.
func apiToken(t *testing.T, s *inboxqtest.Stack, user string) (string, int64) {
	t.Helper()
	tok, err := s.Auth.CreateToken(context.Background(), auth.CreateTokenParams{User: user})
	require.NoError(t, err)
	return tok.Secret, tok.Token.ID
}

// eventsToken exchanges an API token for an events token, as the dashboard does.
func eventsToken(t *testing.T, s *inboxqtest.Stack, token string) string {
	t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	s.Do(t, http.MethodPost, "/api/v1/events/token", token, nil).JSON(t, &out)
	require.NotEmpty(t, out.Token)
	return out.Token
}

// stillStreaming proves a stream is alive: a new task of its user reaches it.
func stillStreaming(t *testing.T, s *inboxqtest.Stack, c *inboxqtest.SSEClient, token string) {
	t.Helper()
	id := create(t, s, token, map[string]any{"kind": "test_block", "args": map[string]any{"key": fmt.Sprint(time.Now().UnixNano())}}).ID
	c.Until(t, 10*time.Second, func(ev inboxqtest.SSEEvent) bool {
		return ev.Name == "task" && decode[taskEvent](t, ev).ID == id
	})
}

func TestRevokingATokenEndsTheStreamsItOpened(t *testing.T) {
	t.Parallel()
	// A heartbeat far away: only the revocation's notification can end the
	// streams within the test.
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}, Heartbeat: time.Hour})
	srv := httptest.NewServer(s.Handler)
	t.Cleanup(srv.Close)
	laptop, laptopID := apiToken(t, s, "alice")
	phone, _ := apiToken(t, s, "alice")
	task := create(t, s, laptop, map[string]any{"kind": "test_block", "args": map[string]any{"key": "k"}})

	// Streams opened with the API token itself and with an events token it
	// minted; and one of alice's other token, which must live on.
	viaHeader := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events", laptop, "")
	evTok := eventsToken(t, s, laptop)
	viaEventsToken := inboxqtest.OpenSSE(t, fmt.Sprintf("%s/api/v1/tasks/%d/events?access_token=%s", srv.URL, task.ID, evTok), "", "")
	other := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events?access_token="+eventsToken(t, s, phone), "", "")
	for _, c := range []*inboxqtest.SSEClient{viaHeader, viaEventsToken, other} {
		require.Equal(t, http.StatusOK, c.Resp.StatusCode)
	}
	viaEventsToken.Next(t, 10*time.Second) // the snapshot: the stream is serving

	require.NoError(t, s.Auth.RevokeToken(context.Background(), laptopID))
	require.True(t, viaHeader.Ended(10*time.Second), "the stream opened with the revoked token ends")
	require.True(t, viaEventsToken.Ended(10*time.Second), "the stream opened with an events token of the revoked token ends")
	stillStreaming(t, s, other, phone)

	// The events token is dead with its parent, though it has not expired.
	dead := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events?access_token="+evTok, "", "")
	require.Equal(t, http.StatusUnauthorized, dead.Resp.StatusCode)
	dead.Close()
}

func TestTheHeartbeatRecheckEndsStreamsWhoseTokenDiedUnannounced(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}, Heartbeat: 100 * time.Millisecond})
	srv := httptest.NewServer(s.Handler)
	t.Cleanup(srv.Close)
	ctx := context.Background()
	alice, aliceID := apiToken(t, s, "alice")
	bob, bobID := apiToken(t, s, "bob")
	carol, _ := apiToken(t, s, "carol")

	ca := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events?access_token="+eventsToken(t, s, alice), "", "")
	cb := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events", bob, "")
	cc := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events?access_token="+eventsToken(t, s, carol), "", "")
	for _, c := range []*inboxqtest.SSEClient{ca, cb, cc} {
		require.Equal(t, http.StatusOK, c.Resp.StatusCode)
	}

	// Alice's API token expires: nothing is announced for an expiry.
	_, err := s.Schema.Pool.Exec(ctx, "UPDATE api_token SET expires_at = now() WHERE id = $1", aliceID)
	require.NoError(t, err)
	// Bob's revocation is missed, as by a hub reconnecting: here the
	// announcing trigger is off.
	_, err = s.Schema.Pool.Exec(ctx, "ALTER TABLE api_token DISABLE TRIGGER api_token_inboxq_revoked")
	require.NoError(t, err)
	require.NoError(t, s.Auth.RevokeToken(ctx, bobID))

	require.True(t, ca.Ended(10*time.Second), "the parent token expired")
	require.True(t, cb.Ended(10*time.Second), "the token was revoked")
	// Carol's stream survives its heartbeats' checks.
	stillStreaming(t, s, cc, carol)
}

func TestStreamsEndAfterTheirMaximumLifeWithARetryHint(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}, StreamMaxLife: 300 * time.Millisecond})
	srv := httptest.NewServer(s.Handler)
	t.Cleanup(srv.Close)
	_, alice := s.User(t, "alice", false)

	c := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events", alice, "")
	require.Equal(t, http.StatusOK, c.Resp.StatusCode)
	require.Equal(t, "2000", inboxqtest.WaitOrTimeout(t, c.Retries, 10*time.Second), "the opening hint")
	require.True(t, c.Ended(10*time.Second), "the server ends the stream")
	require.Equal(t, "2000", inboxqtest.WaitOrTimeout(t, c.Retries, time.Second), "a retry hint before closing")

	// The client comes back, authenticating again.
	again := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events", alice, "")
	require.Equal(t, http.StatusOK, again.Resp.StatusCode)
}

func TestOpenStreamsPerUserAreCapped(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}, StreamsPerUser: 2})
	srv := httptest.NewServer(s.Handler)
	t.Cleanup(srv.Close)
	_, alice := s.User(t, "alice", false)
	_, bob := s.User(t, "bob", false)
	_, root := s.User(t, "root", true)
	task := create(t, s, alice, map[string]any{"kind": "test_block", "args": map[string]any{"key": "k"}})

	open := func(path, token string) *inboxqtest.SSEClient {
		return inboxqtest.OpenSSE(t, srv.URL+path, token, "")
	}
	refused := func(c *inboxqtest.SSEClient) {
		t.Helper()
		defer c.Close()
		require.Equal(t, http.StatusTooManyRequests, c.Resp.StatusCode)
		require.Equal(t, "application/problem+json", c.Resp.Header.Get("Content-Type"))
		require.Equal(t, "5", c.Resp.Header.Get("Retry-After"))
		body, err := io.ReadAll(c.Resp.Body)
		require.NoError(t, err)
		var p problemBody
		require.NoError(t, json.Unmarshal(body, &p))
		require.Equal(t, http.StatusTooManyRequests, p.Status)
		require.Contains(t, p.Detail, "at most 2 per user")
	}

	// Both operations count against one budget.
	first := open("/api/v1/events", alice)
	second := open(fmt.Sprintf("/api/v1/tasks/%d/events", task.ID), alice)
	require.Equal(t, http.StatusOK, first.Resp.StatusCode)
	require.Equal(t, http.StatusOK, second.Resp.StatusCode)
	refused(open("/api/v1/events", alice))
	refused(open(fmt.Sprintf("/api/v1/tasks/%d/events?access_token=%s", task.ID, eventsToken(t, s, alice)), ""))

	// Others are not affected; admins have the same cap.
	for range 2 {
		require.Equal(t, http.StatusOK, open("/api/v1/events", bob).Resp.StatusCode)
		require.Equal(t, http.StatusOK, open("/api/v1/events", root).Resp.StatusCode)
	}
	refused(open("/api/v1/events", root))

	// A closed stream frees its slot (once its handler has returned).
	first.Close()
	var third *inboxqtest.SSEClient
	require.Eventually(t, func() bool {
		c := open("/api/v1/events", alice)
		if c.Resp.StatusCode != http.StatusOK {
			c.Close()
			return false
		}
		third = c
		return true
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, "snapshot", decode[taskEvent](t, third.Next(t, 10*time.Second)).Change)
	refused(open("/api/v1/events", alice))
}

func TestSnapshotIsBoundedAndLeavesLargeResultsOut(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}, SnapshotTasks: 5})
	srv := httptest.NewServer(s.Handler)
	t.Cleanup(srv.Close)
	ctx := context.Background()
	_, alice := s.User(t, "alice", false)

	var ids []int64
	for i := range 8 {
		ids = append(ids, create(t, s, alice, map[string]any{"kind": "test_echo", "args": map[string]any{"message": fmt.Sprint(i)}}).ID)
	}
	// The newest two finished, one with a large result, one with a small
	// one; every task carries a large argument, which no event ever sends.
	big := `{"blob":"` + strings.Repeat("x", 100_000) + `"}`
	_, err := s.Schema.Pool.Exec(ctx, `UPDATE river_job SET args = args || '{"pad":"`+strings.Repeat("y", 50_000)+`"}'::jsonb`)
	require.NoError(t, err)
	finish := func(id int64, output string) {
		_, err := s.Schema.Pool.Exec(ctx, `UPDATE river_job SET state = 'completed', finalized_at = now(), attempt = 1, attempted_at = now(),
			metadata = jsonb_set(metadata, '{output}', $2::jsonb) WHERE id = $1`, id, output)
		require.NoError(t, err)
	}
	finish(ids[7], big)
	finish(ids[6], `{"echo":"small"}`)
	for _, id := range ids[2:6] {
		finish(id, `{"echo":"done"}`)
	}

	c := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events", alice, "")
	require.Equal(t, http.StatusOK, c.Resp.StatusCode)
	// The marker is created once the snapshot has been read (its first event
	// is sent after the query): created earlier, it could be in the snapshot,
	// depending on which of the two statements commits first.
	events := c.Until(t, 10*time.Second, func(ev inboxqtest.SSEEvent) bool {
		return ev.Name == "task" && decode[taskEvent](t, ev).Change == "snapshot"
	})
	marker := create(t, s, alice, map[string]any{"kind": "test_echo", "args": map[string]any{"message": "after"}}).ID
	events = append(events, c.Until(t, 10*time.Second, func(ev inboxqtest.SSEEvent) bool {
		return ev.Name == "task" && decode[taskEvent](t, ev).ID == marker
	})...)
	var snapshot []taskEvent
	for _, ev := range events {
		require.Less(t, len(ev.Data), 2000, "no event carries a large blob")
		require.NotContains(t, string(ev.Data), "yyyy")
		if te := decode[taskEvent](t, ev); te.Change == "snapshot" {
			snapshot = append(snapshot, te)
		}
	}
	require.Len(t, snapshot, 5, "the snapshot sends the configured number of tasks")
	got := map[int64]taskEvent{}
	for _, te := range snapshot {
		got[te.ID] = te
	}
	// The tasks in flight first (the two oldest here), then the newest
	// finished ones: a cut drops old finished tasks, never one in flight.
	for _, id := range []int64{ids[0], ids[1], ids[7], ids[6], ids[5]} {
		require.Contains(t, got, id)
	}
	require.Equal(t, "completed", got[ids[7]].State)
	require.Nil(t, got[ids[7]].Result, "a large result is left out: fetch the task")
	require.Equal(t, "small", got[ids[6]].Result["echo"])
}
