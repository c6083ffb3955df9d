package inboxqtest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"
	"riverqueue.com/riverui"

	"github.com/inboxq/inboxq/internal/api"
	"github.com/inboxq/inboxq/internal/auth"
	"github.com/inboxq/inboxq/internal/classify"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/messages"
	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
)

// Stack is inboxq assembled on a private schema: store, kind registry (the
// real families plus the test kinds), a River client, the task service and
// the real HTTP handler.
type Stack struct {
	Schema   Schema
	Store    *store.Store
	Registry *jobs.Registry
	Client   *jobs.Client
	Tasks    *tasks.Service
	Auth     *auth.Service
	Hub      *progress.Hub
	Handler  http.Handler
}

// StackOptions tune NewStack.
type StackOptions struct {
	// Workers per queue; nil works every queue with 2 workers. Use an empty
	// map for an insert-only client.
	Workers map[string]int
	// Start starts the River client (workers) before returning.
	Start bool
	// Schema reuses an existing schema (a second "process").
	Schema *Schema
	// Heartbeat overrides the event streams' heartbeat interval.
	Heartbeat time.Duration
	// StreamsPerUser, StreamMaxLife and SnapshotTasks override the event
	// streams' limits (api.Deps).
	StreamsPerUser int
	StreamMaxLife  time.Duration
	SnapshotTasks  int
	// Kinds registers more kinds (benchmarks' probes).
	Kinds func(*jobs.Registry)
	// FetchCooldown and FetchPollInterval override River's fetch timing
	// (defaults 5 ms and 50 ms, for quick tests).
	FetchCooldown, FetchPollInterval time.Duration
	// NoRiverUI leaves River UI out (its count caches poll the database).
	NoRiverUI bool
	// UserCap sets every queue's fair-share cap (0: no cap, the test
	// default, so tests that run many tasks of one user keep their pace).
	UserCap int
	// Limits replaces the task service's per-user limits (nil: defaults).
	Limits *tasks.Limits
}

// NewStack assembles inboxq for a test.
func NewStack(t testing.TB, opts StackOptions) *Stack {
	t.Helper()
	s := Stack{}
	if opts.Schema != nil {
		s.Schema = *opts.Schema
	} else {
		s.Schema = TestSchema(t)
	}
	s.Store = store.New(s.Schema.Pool)
	s.Registry = jobs.NewRegistry()
	jobs.RegisterMaintenance(s.Registry, s.Store, jobs.DefaultHealthThresholds(), "")
	RegisterTestKinds(s.Registry)
	RegisterWorkflowTestKinds(s.Registry, s.Store)
	if opts.Kinds != nil {
		opts.Kinds(s.Registry)
	}
	workers := opts.Workers
	if workers == nil {
		workers = map[string]int{}
		for _, q := range inbox.Queues() {
			workers[q] = 2
		}
	}
	writer := progress.NewWriter(s.Store, Logger(t))
	wctx, stopWriter := context.WithCancel(context.Background())
	writerDone := make(chan struct{})
	go func() { defer close(writerDone); writer.Run(wctx) }()
	t.Cleanup(func() { stopWriter(); <-writerDone })
	steps := jobs.NewStepCompleter(s.Store, Logger(t))
	stepsDone := make(chan struct{})
	go func() { defer close(stepsDone); steps.Run(wctx) }()
	t.Cleanup(func() { stopWriter(); <-stepsDone })
	client, err := jobs.NewClient(s.Store, s.Registry, jobs.Config{
		Progress: writer, Steps: steps,
		Workers: workers, Schema: s.Schema.Name, Logger: Logger(t),
		FetchCooldown:     cmp.Or(opts.FetchCooldown, 5*time.Millisecond),
		FetchPollInterval: cmp.Or(opts.FetchPollInterval, max(50*time.Millisecond, opts.FetchCooldown)),
		SoftStopTimeout:   5 * time.Second,
	})
	require.NoError(t, err)
	s.Client = client
	if opts.Start {
		require.NoError(t, client.Start(context.Background()))
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			require.NoError(t, client.Stop(ctx))
		})
	}
	s.Tasks = tasks.NewService(s.Store, client, s.Registry, Logger(t))
	if opts.Limits != nil {
		s.Tasks.WithLimits(*opts.Limits)
	}
	if opts.UserCap > 0 {
		for _, q := range inbox.Queues() {
			require.NoError(t, s.Store.FairQueueSet(context.Background(), q, opts.UserCap))
		}
	}
	s.Auth = auth.NewService(s.Store)
	var ui http.Handler
	if !opts.NoRiverUI {
		h, err := riverui.NewHandler(&riverui.HandlerOpts{Endpoints: riverui.NewEndpoints(client, nil), Logger: Logger(t), Prefix: "/riverui"})
		require.NoError(t, err)
		uiCtx, stopUI := context.WithCancel(context.Background())
		t.Cleanup(stopUI)
		require.NoError(t, h.Start(uiCtx))
		ui = h
	}
	metrics := jobs.NewMetrics(s.Store, Logger(t))
	s.Hub = progress.NewHub(s.Store, func(ctx context.Context) (*pgx.Conn, error) {
		return pgx.ConnectConfig(ctx, s.Schema.Pool.Config().ConnConfig.Copy())
	}, Logger(t))
	hubCtx, stopHub := context.WithCancel(context.Background())
	hubDone := make(chan struct{})
	go func() { defer close(hubDone); _ = s.Hub.Run(hubCtx) }()
	t.Cleanup(func() { stopHub(); <-hubDone })
	WaitOrTimeout(t, s.Hub.Ready(), 10*time.Second)
	s.Handler = api.NewHandler(api.Deps{
		Hub: s.Hub, Heartbeat: opts.Heartbeat,
		StreamsPerUser: opts.StreamsPerUser, StreamMaxLife: opts.StreamMaxLife, SnapshotTasks: opts.SnapshotTasks,
		Logger: Logger(t), Version: "test", Tasks: s.Tasks, Auth: s.Auth, Idempotency: s.Store,
		Ready:   func(context.Context) error { return nil },
		RiverUI: ui, Metrics: promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{}),
		Messages:  &messages.Service{Store: s.Store, River: client, Classifier: classify.MustBase()},
		Analytics: s.Store,
	})
	return &s
}

// User creates a user with a token and returns both.
func (s *Stack) User(t testing.TB, name string, admin bool) (inbox.Principal, string) {
	t.Helper()
	tok, err := s.Auth.CreateToken(context.Background(), auth.CreateTokenParams{User: name, Admin: admin})
	require.NoError(t, err)
	return tok.User, tok.Secret
}

// Response is a recorded HTTP response.
type Response struct {
	Code   int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Body, v), "body: %s", r.Body)
}

// Do sends a request through the real handler. body may be nil, a string
// (sent as is) or anything JSON-encodable.
func (s *Stack) Do(t testing.TB, method, path, token string, body any) Response {
	t.Helper()
	return s.DoWith(t, method, path, token, body, nil)
}

// DoWith is Do with extra request headers.
func (s *Stack) DoWith(t testing.TB, method, path, token string, body any, header http.Header) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for name, values := range header {
		req.Header[name] = values
	}
	rec := httptest.NewRecorder()
	s.Handler.ServeHTTP(rec, req)
	return Response{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// WaitTask polls a task until cond holds or the timeout passes.
func (s *Stack) WaitTask(t testing.TB, id int64, timeout time.Duration, cond func(inbox.Task) bool) inbox.Task {
	t.Helper()
	var last inbox.Task
	require.Eventually(t, func() bool {
		var err error
		last, err = s.Store.TaskGet(context.Background(), id, nil)
		require.NoError(t, err)
		return cond(last)
	}, timeout, 10*time.Millisecond, "task %d stuck in %s", id, func() string { return string(last.State) }())
	return last
}

// InState is a WaitTask condition.
func InState(states ...inbox.TaskState) func(inbox.Task) bool {
	return func(t inbox.Task) bool {
		for _, s := range states {
			if t.State == s {
				return true
			}
		}
		return false
	}
}

// Test kinds: small, real workers used by the tests of the task engine.

// EchoArgs completes at once and records its message as the result.
type EchoArgs struct {
	jobs.Owned
	Message string `json:"message" minLength:"1" maxLength:"100" doc:"What to echo"`
	Count   int    `json:"count,omitempty" minimum:"0" maximum:"10"`
}

// Kind implements river.JobArgs.
func (EchoArgs) Kind() string { return "test_echo" }

// InsertOpts puts echoes on the default queue at priority 2.
func (EchoArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueDefault, Priority: 2}
}

type echoWorker struct{ river.WorkerDefaults[EchoArgs] }

func (echoWorker) Work(ctx context.Context, job *river.Job[EchoArgs]) error {
	return jobs.RecordOutput(ctx, map[string]string{"echo": job.Args.Message})
}

// BlockArgs runs until cancelled; one per key and owner may be in flight.
type BlockArgs struct {
	jobs.Owned
	Key string `json:"key" river:"unique" minLength:"1"`
}

// Kind implements river.JobArgs.
func (BlockArgs) Kind() string { return "test_block" }

// InsertOpts makes blocks unique by key and owner, on the bulk queue.
func (BlockArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueBulk, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type blockWorker struct {
	river.WorkerDefaults[BlockArgs]
}

func (blockWorker) Work(ctx context.Context, job *river.Job[BlockArgs]) error {
	<-ctx.Done()
	return ctx.Err()
}

func (blockWorker) Timeout(*river.Job[BlockArgs]) time.Duration { return -1 }

// FailArgs fails: with a retryable error, permanently, or by snoozing first.
type FailArgs struct {
	jobs.Owned
	Mode string `json:"mode" enum:"retry,permanent,snooze_then_ok"`
}

// Kind implements river.JobArgs.
func (FailArgs) Kind() string { return "test_fail" }

// InsertOpts gives failures one attempt.
func (FailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueDefault, MaxAttempts: 1}
}

type failWorker struct{ river.WorkerDefaults[FailArgs] }

func (failWorker) Work(ctx context.Context, job *river.Job[FailArgs]) error {
	switch job.Args.Mode {
	case "permanent":
		return river.JobCancel(errPermanent)
	case "snooze_then_ok":
		var md struct {
			Snoozes int `json:"snoozes"`
		}
		_ = json.Unmarshal(job.Metadata, &md)
		if md.Snoozes == 0 {
			return river.JobSnooze(time.Millisecond)
		}
		return nil
	}
	return errRetryable
}

type testError string

func (e testError) Error() string { return string(e) }

const (
	errPermanent = testError("mailbox gone: giving up")
	errRetryable = testError("flaky upstream")
)

// StepsArgs reports progress through Steps steps, DelayMS apart.
type StepsArgs struct {
	jobs.Owned
	Steps   int `json:"steps" minimum:"1" maximum:"100000"`
	DelayMS int `json:"delay_ms" minimum:"0" maximum:"10000"`
}

// Kind implements river.JobArgs.
func (StepsArgs) Kind() string { return "test_steps" }

// InsertOpts puts steps on the sync queue.
func (StepsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueSync, Priority: 2}
}

type stepsWorker struct {
	river.WorkerDefaults[StepsArgs]
}

func (stepsWorker) Work(ctx context.Context, job *river.Job[StepsArgs]) error {
	rep := progress.From(ctx)
	rep.SetTotal(int64(job.Args.Steps))
	rep.Stage("stepping", "")
	for i := rep.Current().Done; i < int64(job.Args.Steps); i++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(job.Args.DelayMS) * time.Millisecond):
		}
		rep.Add(1)
	}
	return jobs.RecordOutput(ctx, map[string]int{"steps": job.Args.Steps})
}

// RegisterTestKinds adds the test kinds to reg.
func RegisterTestKinds(reg *jobs.Registry) {
	jobs.Add(reg, stepsWorker{}, jobs.Info{Description: "Test: reports progress step by step.", Notify: true})
	jobs.Add(reg, echoWorker{}, jobs.Info{Description: "Test: echoes its message."})
	jobs.Add(reg, blockWorker{}, jobs.Info{Description: "Test: runs until cancelled."})
	jobs.Add(reg, failWorker{}, jobs.Info{Description: "Test: fails as asked."})
}
