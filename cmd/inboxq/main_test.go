package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/store"
)

// The test binary doubles as the inboxq binary: with INBOXQ_HELPER set,
// TestMain runs inboxq instead of the tests, so tests can start real
// processes, send them real signals and read their exit codes.
func TestMain(m *testing.M) {
	switch os.Getenv("INBOXQ_HELPER") {
	case "":
		os.Exit(m.Run())
	case "main":
		os.Args = append([]string{"inboxq"}, strings.Fields(os.Getenv("INBOXQ_HELPER_ARGS"))...)
		main()
		os.Exit(0)
	case "worker":
		helperWorker()
	}
}

// helperWorker runs `inboxq worker` in a test schema with the sleep worker.
func helperWorker() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	w := wiringOptions{
		schema: os.Getenv("INBOXQ_HELPER_SCHEMA"),
		extraKinds: func(r *jobs.Registry, st *store.Store) {
			jobs.Add(r, &sleepWorker{skip: os.Getenv("INBOXQ_HELPER_NO_SLEEP") != ""}, jobs.Info{Description: "test"})
			registerRecordKinds(r, st)
		},
	}
	if os.Getenv("INBOXQ_HELPER_LEASE") != "" {
		// The lease hands back a dead worker's jobs after seconds, not
		// half a minute; River's own rescue keeps its production delay.
		w.leaseBeat, w.leaseDeadAfter = 300*time.Millisecond, 3*time.Second
	}
	err := runWith(ctx, []string{"inboxq", "worker"}, os.Getenv, os.Stdout, options{wiring: w})
	if err != nil {
		fmt.Fprintln(os.Stderr, "inboxq:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

type sleepArgs struct {
	jobs.Owned
	Sleep time.Duration `json:"sleep"`
}

func (sleepArgs) Kind() string { return "test_sleep" }

// sleepWorker sleeps for its args' duration, or until its context ends.
type sleepWorker struct {
	river.WorkerDefaults[sleepArgs]
	skip bool
}

func (w *sleepWorker) Work(ctx context.Context, job *river.Job[sleepArgs]) error {
	if w.skip {
		return nil
	}
	select {
	case <-time.After(job.Args.Sleep):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *sleepWorker) Timeout(*river.Job[sleepArgs]) time.Duration { return -1 }

// syncBuffer is a helper's output, safe to read while the process writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitOutput waits until the helper has written s.
func waitOutput(t testing.TB, out *syncBuffer, s string, timeout time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), s) }, timeout, 20*time.Millisecond,
		"the helper never wrote %q", s)
}

// startHelper starts the test binary as a helper process.
func startHelper(t testing.TB, env ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("helper output:\n%s", out.String())
		}
	})
	return cmd, out
}

func insertSleep(t *testing.T, s inboxqtest.Schema, d time.Duration) int64 {
	t.Helper()
	reg := jobs.NewRegistry()
	jobs.Add(reg, &sleepWorker{}, jobs.Info{Description: "test"})
	client, err := jobs.NewClient(store.New(s.Pool), reg, jobs.Config{Schema: s.Name})
	require.NoError(t, err)
	res, err := client.Insert(context.Background(), sleepArgs{Sleep: d}, nil)
	require.NoError(t, err)
	return res.Job.ID
}

func jobRow(t *testing.T, s inboxqtest.Schema, id int64) (state string, attempt int, errs int) {
	t.Helper()
	err := s.Pool.QueryRow(context.Background(),
		"SELECT state::text, attempt, coalesce(array_length(errors, 1), 0) FROM river_job WHERE id = $1", id).
		Scan(&state, &attempt, &errs)
	require.NoError(t, err)
	return state, attempt, errs
}

func waitState(t *testing.T, s inboxqtest.Schema, id int64, want string) {
	t.Helper()
	require.Eventually(t, func() bool {
		state, _, _ := jobRow(t, s, id)
		return state == want
	}, 15*time.Second, 10*time.Millisecond, "job %d never reached %s", id, want)
}

// helperEnv configures a helper worker; its local state (the development
// secret key) goes to a temporary directory, never into the source tree.
func helperEnv(t testing.TB, s inboxqtest.Schema, timeout string) []string {
	return []string{
		"INBOXQ_DATA_DIR=" + t.TempDir(),
		"INBOXQ_HELPER=worker",
		"INBOXQ_HELPER_SCHEMA=" + s.Name,
		"DATABASE_URL=" + s.URL,
		"INBOXQ_SHUTDOWN_TIMEOUT=" + timeout,
		"INBOXQ_LOG_FORMAT=text",
	}
}

func TestSIGTERMLetsARunningJobFinish(t *testing.T) {
	t.Parallel()
	s := inboxqtest.TestSchema(t)
	id := insertSleep(t, s, 1500*time.Millisecond)

	cmd, _ := startHelper(t, helperEnv(t, s, "20s")...)
	waitState(t, s, id, "running")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "clean exit after SIGTERM")

	state, attempt, errs := jobRow(t, s, id)
	require.Equal(t, "completed", state)
	require.Equal(t, 1, attempt)
	require.Zero(t, errs)
}

func TestSIGTERMHandsBackAJobThatOutlastsTheTimeout(t *testing.T) {
	t.Parallel()
	s := inboxqtest.TestSchema(t)
	id := insertSleep(t, s, time.Hour)

	cmd, _ := startHelper(t, helperEnv(t, s, "300ms")...)
	waitState(t, s, id, "running")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "clean exit after SIGTERM")

	// Back in the queue, the attempt not spent, no error recorded.
	state, attempt, errs := jobRow(t, s, id)
	require.Equal(t, string(rivertype.JobStateAvailable), state)
	require.Zero(t, attempt)
	require.Zero(t, errs)

	// The next worker picks it up and finishes it.
	next, _ := startHelper(t, append(helperEnv(t, s, "5s"), "INBOXQ_HELPER_NO_SLEEP=1")...)
	waitState(t, s, id, "completed")
	require.NoError(t, next.Process.Signal(syscall.SIGTERM))
	require.NoError(t, next.Wait())
	_, attempt, errs = jobRow(t, s, id)
	require.Equal(t, 1, attempt)
	require.Zero(t, errs)
}

func TestMissingDatabaseGivesOneClearLine(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	cmd, out := startHelper(t, "INBOXQ_HELPER=main", "INBOXQ_HELPER_ARGS=serve", "DATABASE_URL=postgres://"+addr+"/inboxq")
	err = cmd.Wait()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr)
	require.Equal(t, 1, exitErr.ExitCode())

	// The log line "starting" comes first; the error is the last line, alone.
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	require.Equal(t, "inboxq: cannot use PostgreSQL at "+addr+"/inboxq: connection refused (is the server running?); "+
		"start PostgreSQL there, or set DATABASE_URL (postgres://user:password@host:5432/inboxq)", last)
	require.NotContains(t, out.String(), "goroutine", "no stack trace")
}

func TestMigrateTwiceThroughTheCLI(t *testing.T) {
	t.Parallel()
	s := inboxqtest.EmptySchema(t)
	// search_path in the URL puts everything, River included, in the schema.
	env := map[string]string{"DATABASE_URL": s.URL + "&search_path=" + s.Name, "INBOXQ_LOG_FORMAT": "text"}
	ctx := context.Background()

	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{"inboxq", "migrate"}, mapenv(env), &out))
	require.Contains(t, out.String(), `inboxq_versions="[1 2`)
	out.Reset()
	require.NoError(t, run(ctx, []string{"inboxq", "migrate"}, mapenv(env), &out))
	require.Contains(t, out.String(), "river_versions=[] inboxq_versions=[]")

	out.Reset()
	require.NoError(t, run(ctx, []string{"inboxq", "migrate", "status"}, mapenv(env), &out))
	require.Regexp(t, `0001\s+health_check\s+applied`, out.String())
	require.Regexp(t, `river\s+\(River's own schema\)\s+current`, out.String())
	require.NotContains(t, out.String(), "pending")

	var n int
	require.NoError(t, s.Pool.QueryRow(ctx, "SELECT count(*) FROM inboxq_migration").Scan(&n))
	all, err := store.Migrations()
	require.NoError(t, err)
	require.Equal(t, len(all), n)
}

func TestOpenAPIWithoutADatabase(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	// A getenv that would fail any database access: the command must not look.
	err := run(context.Background(), []string{"inboxq", "openapi"}, mapenv(map[string]string{"DATABASE_URL": "postgres://127.0.0.1:1/none"}), &out)
	require.NoError(t, err)
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &doc))
	require.Equal(t, "3.1.0", doc.OpenAPI)
	require.Contains(t, doc.Paths, "/healthz")
	require.Contains(t, doc.Paths, "/readyz")
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var out bytes.Buffer
	err := run(ctx, []string{"inboxq", "frobnicate"}, mapenv(nil), &out)
	require.ErrorIs(t, err, errUsage)
	require.ErrorContains(t, err, `unknown command "frobnicate"`)

	err = run(ctx, []string{"inboxq", "migrate", "sideways"}, mapenv(nil), &out)
	require.ErrorIs(t, err, errUsage)

	for _, cmd := range []string{"serve", "worker", "migrate", "openapi"} {
		out.Reset()
		require.NoError(t, run(ctx, []string{"inboxq", cmd, "--help"}, mapenv(nil), &out), cmd)
		require.Contains(t, out.String(), "Usage: inboxq "+cmd)
	}

	out.Reset()
	err = run(ctx, []string{"inboxq", "serve"}, mapenv(map[string]string{"INBOXQ_WORKERS_SYNC": "lots", "INBOXQ_LOG_FORMAT": "xml"}), &out)
	require.ErrorContains(t, err, "INBOXQ_WORKERS_SYNC")
	require.ErrorContains(t, err, "INBOXQ_LOG_FORMAT")
}

func TestServeEndToEnd(t *testing.T) {
	t.Parallel()
	s := inboxqtest.TestSchema(t)
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan string, 1)
	done := make(chan error, 1)
	env := mapenv(map[string]string{"DATABASE_URL": s.URL + "&search_path=" + s.Name, "INBOXQ_ADDR": "127.0.0.1:0",
		"INBOXQ_LOG_FORMAT": "text", "INBOXQ_DATA_DIR": t.TempDir()})
	var logs syncBuffer
	go func() {
		done <- runWith(ctx, []string{"inboxq", "serve"}, env, &logs, options{wiring: wiringOptions{
			schema: s.Name, listening: listening,
			extraKinds: func(r *jobs.Registry, _ *store.Store) { jobs.Add(r, &sleepWorker{}, jobs.Info{Description: "test"}) },
		}})
	}()
	addr := inboxqtest.WaitOrTimeout(t, listening, 20*time.Second)
	// Ready once the database answers and the event hub listens.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if assert.NoError(c, err) {
			resp.Body.Close()
			assert.Equal(c, 200, resp.StatusCode)
		}
	}, 20*time.Second, 20*time.Millisecond)

	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/docs": 200, "/openapi.json": 200, "/api/v1/nope": 404} {
		resp, err := http.Get("http://" + addr + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, want, resp.StatusCode, path)
	}
	// An API call with a token made by the CLI.
	var tok bytes.Buffer
	require.NoError(t, run(ctx, []string{"inboxq", "token", "create", "--user", "e2e"}, env, &tok))
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/tasks", strings.NewReader(`{"kind":"test_sleep","args":{"sleep":1000000}}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+strings.SplitN(tok.String(), "\n", 2)[0])
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	// The README's example, as written: a new user starts an export; a
	// maintenance kind is for admins (403), whose token starts it.
	post := func(token, body string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/tasks", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	var alice, root bytes.Buffer
	require.NoError(t, run(ctx, []string{"inboxq", "token", "create", "--user", "alice"}, env, &alice))
	require.NoError(t, run(ctx, []string{"inboxq", "token", "create", "--user", "root", "--admin"}, env, &root))
	aliceTok, rootTok := strings.SplitN(alice.String(), "\n", 2)[0], strings.SplitN(root.String(), "\n", 2)[0]
	require.Equal(t, http.StatusCreated, post(aliceTok, `{"kind": "export_user_data"}`))
	require.Equal(t, http.StatusForbidden, post(aliceTok, `{"kind": "monitor_system_health"}`))
	require.Contains(t, []int{http.StatusCreated, http.StatusOK}, post(rootTok, `{"kind": "monitor_system_health"}`)) // 200: one is in flight

	// The built-in health schedule fires on start, through River, in this schema.
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, s.Pool.QueryRow(ctx, "SELECT count(*) FROM health_check").Scan(&n))
		return n > 0
	}, 15*time.Second, 20*time.Millisecond)

	// Readiness follows the database: a pending migration makes it 503.
	_, err = s.Pool.Exec(ctx, "DELETE FROM inboxq_migration WHERE version = 1")
	require.NoError(t, err)
	resp, err = http.Get("http://" + addr + "/readyz")
	require.NoError(t, err)
	var problem struct {
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&problem))
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	require.Contains(t, problem.Detail, "migrations are pending")

	cancel()
	require.NoError(t, inboxqtest.WaitOrTimeout(t, done, 30*time.Second))
	require.Contains(t, logs.String(), "msg=http_request method=GET path=/healthz status=200")
	require.Contains(t, logs.String(), "request_id=")
}

func mapenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestTokenCommands(t *testing.T) {
	t.Parallel()
	s := inboxqtest.EmptySchema(t)
	env := mapenv(map[string]string{"DATABASE_URL": s.URL + "&search_path=" + s.Name})
	ctx := context.Background()

	// One rule for every command but serve and migrate: they never migrate
	// as a side effect; a database behind the binary is refused, clearly.
	var out bytes.Buffer
	err := run(ctx, []string{"inboxq", "token", "create", "--user", "ops"}, env, &out)
	require.ErrorContains(t, err, "pending migrations; run: inboxq migrate")
	var tables int
	require.NoError(t, s.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = $1", s.Name).Scan(&tables))
	require.Zero(t, tables, "nothing was created")
	require.NoError(t, run(ctx, []string{"inboxq", "migrate"}, env, &out))

	out.Reset()
	require.NoError(t, run(ctx, []string{"inboxq", "token", "create", "--user", "ops", "--admin", "--name", "laptop", "--expires", "24h"}, env, &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2)
	require.Regexp(t, `^iq_\S{43}$`, lines[0])
	require.Regexp(t, `^# token 1 for ops \(admin\), expires \S+; shown once, store it now$`, lines[1])

	out.Reset()
	require.NoError(t, run(ctx, []string{"inboxq", "token", "list"}, env, &out))
	require.Regexp(t, `1\s+ops\s+laptop\s+iq_\S{6}…`, out.String())
	require.NotContains(t, out.String(), lines[0], "the secret is never shown again")
	require.Contains(t, out.String(), "live")

	out.Reset()
	require.NoError(t, run(ctx, []string{"inboxq", "token", "revoke", "1"}, env, &out))
	require.Equal(t, "token 1 revoked\n", out.String())
	err = run(ctx, []string{"inboxq", "token", "revoke", "1"}, env, &out)
	require.EqualError(t, err, "token 1: no such live token")

	for _, bad := range [][]string{{"token"}, {"token", "create"}, {"token", "mint"}, {"token", "revoke", "x"}, {"token", "create", "--user", "a", "--expires", "-1h"}} {
		err := run(ctx, append([]string{"inboxq"}, bad...), env, &out)
		require.ErrorIs(t, err, errUsage, bad)
	}
	err = run(ctx, []string{"inboxq", "token", "create", "--user", "no spaces"}, env, &out)
	require.ErrorContains(t, err, "user name")
}
