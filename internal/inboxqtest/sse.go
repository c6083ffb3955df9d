package inboxqtest

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// SSEEvent is one received Server-Sent Event.
type SSEEvent struct {
	ID    string
	Name  string
	Data  json.RawMessage
	At    time.Time
	Retry string
}

// SSEClient reads a Server-Sent Events stream in the background.
type SSEClient struct {
	Events   chan SSEEvent
	Comments chan string
	// Retries receives the reconnection delays (retry: lines) the server
	// sends, in order.
	Retries chan string
	Resp    *http.Response
	cancel  context.CancelFunc
	done    chan struct{}
}

// OpenSSE connects to url with the token (header) and lastID.
func OpenSSE(t testing.TB, url, token, lastID string) *SSEClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	c := &SSEClient{Events: make(chan SSEEvent, 10_000), Comments: make(chan string, 100), Retries: make(chan string, 100), Resp: resp, cancel: cancel, done: make(chan struct{})}
	if resp.StatusCode != http.StatusOK {
		close(c.done)
		close(c.Events)
		return c
	}
	go c.read()
	t.Cleanup(c.Close)
	return c
}

func (c *SSEClient) read() {
	defer close(c.done)
	defer close(c.Events)
	sc := bufio.NewScanner(c.Resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var ev SSEEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.Retry != "" {
				select {
				case c.Retries <- ev.Retry:
				default:
				}
			}
			if ev.Name != "" || len(ev.Data) > 0 {
				ev.At = time.Now()
				c.Events <- ev
			}
			ev = SSEEvent{}
		case strings.HasPrefix(line, ":"):
			select {
			case c.Comments <- strings.TrimSpace(line[1:]):
			default:
			}
		case strings.HasPrefix(line, "id: "):
			ev.ID = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.Name = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.Data = json.RawMessage(line[6:])
		case strings.HasPrefix(line, "retry: "):
			ev.Retry = line[7:]
		}
	}
}

// Close disconnects and waits for the reader to stop.
func (c *SSEClient) Close() {
	c.cancel()
	if c.Resp != nil {
		_ = c.Resp.Body.Close()
	}
	<-c.done
}

// Next returns the next event, failing the test after timeout.
func (c *SSEClient) Next(t testing.TB, timeout time.Duration) SSEEvent {
	t.Helper()
	select {
	case ev, ok := <-c.Events:
		require.True(t, ok, "stream ended")
		return ev
	case <-time.After(timeout):
		t.Fatalf("no event within %s", timeout)
		panic("unreachable")
	}
}

// Until collects events until one satisfies stop, failing after timeout.
func (c *SSEClient) Until(t testing.TB, timeout time.Duration, stop func(SSEEvent) bool) []SSEEvent {
	t.Helper()
	deadline := time.After(timeout)
	var got []SSEEvent
	for {
		select {
		case ev, ok := <-c.Events:
			require.True(t, ok, "stream ended after %d events", len(got))
			got = append(got, ev)
			if stop(ev) {
				return got
			}
		case <-deadline:
			t.Fatalf("condition not met within %s; got %d events", timeout, len(got))
		}
	}
}

// Ended reports whether the server closed the stream (within timeout).
func (c *SSEClient) Ended(timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		select {
		case _, ok := <-c.Events:
			if !ok {
				return true
			}
		case <-deadline:
			return false
		}
	}
}
