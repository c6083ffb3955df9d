package lifecycle_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/lifecycle"
)

// journal records what the services did, in order.
type journal struct {
	mu    sync.Mutex
	lines []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.lines = append(j.lines, s)
}

func (j *journal) get() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.lines...)
}

func part(j *journal, name string, startErr error) lifecycle.Service {
	return lifecycle.Hooks(func(context.Context) error {
		if startErr != nil {
			return startErr
		}
		j.add("start " + name)
		return nil
	}, func() { j.add("stop " + name) })
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestStartsInOrderStopsInReverse(t *testing.T) {
	var j journal
	sup := lifecycle.New(quiet())
	sup.Add("a", part(&j, "a", nil))
	sup.Add("b", part(&j, "b", nil))
	sup.Add("c", part(&j, "c", nil))
	require.Error(t, sup.Ready(context.Background()), "not ready before it starts")
	require.NoError(t, sup.Start(context.Background()))
	require.NoError(t, sup.Ready(context.Background()))
	sup.Stop()
	sup.Stop() // a second stop does nothing
	require.Equal(t, []string{"start a", "start b", "start c", "stop c", "stop b", "stop a"}, j.get())
}

func TestAFailedStartStopsWhatStarted(t *testing.T) {
	var j journal
	sup := lifecycle.New(quiet())
	sup.Add("a", part(&j, "a", nil))
	sup.Add("b", part(&j, "b", nil))
	sup.Add("broken", part(&j, "broken", errors.New("no port")))
	sup.Add("d", part(&j, "d", nil))
	err := sup.Start(context.Background())
	require.ErrorContains(t, err, "starting broken: no port")
	require.Equal(t, []string{"start a", "start b", "stop b", "stop a"}, j.get())
}

func TestAServiceThatEndsOnItsOwnIsReported(t *testing.T) {
	sup := lifecycle.New(quiet())
	release := make(chan struct{})
	sup.Add("steady", lifecycle.Func(func(ctx context.Context) error { <-ctx.Done(); return nil }))
	sup.Add("hub", lifecycle.Func(func(context.Context) error { <-release; return errors.New("listener gone") }))
	require.NoError(t, sup.Start(context.Background()))
	close(release)
	select {
	case err := <-sup.Failed():
		require.EqualError(t, err, "hub: listener gone")
	case <-time.After(30 * time.Second):
		t.Fatal("no failure reported")
	}
	sup.Stop()
}

func TestReadinessComesFromTheServices(t *testing.T) {
	sup := lifecycle.New(quiet())
	var ready error = errors.New("not connected")
	var mu sync.Mutex
	sup.Add("hub", lifecycle.Func(func(ctx context.Context) error { <-ctx.Done(); return nil }).WithReady(func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		return ready
	}))
	require.NoError(t, sup.Start(context.Background()))
	defer sup.Stop()
	require.EqualError(t, sup.Ready(context.Background()), "hub: not connected")
	mu.Lock()
	ready = nil
	mu.Unlock()
	require.NoError(t, sup.Ready(context.Background()))
}

func TestHTTPServesUntilStoppedAndReportsABrokenListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })}
	svc := lifecycle.HTTP(srv, ln, 5*time.Second)
	require.NoError(t, svc.Start(context.Background()))
	res, err := http.Get("http://" + ln.Addr().String())
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, "ok", string(body))
	svc.Stop()
	_, err = http.Get("http://" + ln.Addr().String())
	require.Error(t, err, "stopped")
	select {
	case err := <-svc.Failed():
		t.Fatalf("a graceful stop is no failure: %v", err)
	default:
	}

	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	svc2 := lifecycle.HTTP(&http.Server{Handler: http.NotFoundHandler()}, ln2, time.Second)
	require.NoError(t, svc2.Start(context.Background()))
	require.NoError(t, ln2.Close()) // the listener breaks under the server
	select {
	case err := <-svc2.Failed():
		require.Error(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("a broken listener was not reported")
	}
	svc2.Stop()
}
