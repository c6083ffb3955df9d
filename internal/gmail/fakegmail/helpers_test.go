package fakegmail

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/api/gmail/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
)

// testEpoch is the fixed "now" of tests that use a ManualClock.
var testEpoch = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// startServer serves fake over httptest and returns a real gmail client
// pointed at it without authentication.
func startServer(t *testing.T, fake *Server) (*httptest.Server, *gmail.Service) {
	t.Helper()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	svc, err := gmail.NewService(context.Background(), option.WithEndpoint(srv.URL+"/"), option.WithoutAuthentication())
	require.NoError(t, err)
	return srv, svc
}

// newFake returns a server with one generated mailbox and a client for it.
func newFake(t *testing.T, n int, opts Options) (*Server, *Mailbox, *gmail.Service) {
	t.Helper()
	fake := New(opts)
	mb := Generate(1, n, GenerateOptions{})
	fake.AddMailbox(mb)
	_, svc := startServer(t, fake)
	return fake, mb, svc
}

// requireAPIError asserts err is a *googleapi.Error with code and reason.
func requireAPIError(t *testing.T, err error, code int, reason string) *googleapi.Error {
	t.Helper()
	require.Error(t, err)
	var ge *googleapi.Error
	require.True(t, errors.As(err, &ge), "want *googleapi.Error, got %T: %v", err, err)
	require.Equal(t, code, ge.Code, ge.Body)
	require.NotEmpty(t, ge.Errors, ge.Body)
	require.Equal(t, reason, ge.Errors[0].Reason, ge.Body)
	return ge
}

// waitFor polls cond until it holds or the timeout expires.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			require.FailNow(t, "condition not met before timeout")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// addMessage adds a message server-side and fails the test on error.
func addMessage(t *testing.T, mb *Mailbox, in NewMessage) string {
	t.Helper()
	id, err := mb.AddMessage(in)
	require.NoError(t, err)
	return id
}
