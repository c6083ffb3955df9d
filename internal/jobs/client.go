// Package jobs holds inboxq's River workers, one file per task family, the
// registry that pairs every task kind with its worker, and the one place a
// River client is configured, shared by `serve`, `worker` and the tests.
package jobs

import (
	"cmp"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/store"
)

func logger(cfg Config) *slog.Logger {
	if cfg.Logger != nil {
		return cfg.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Client is the River client type inboxq uses.
type Client = river.Client[pgx.Tx]

// Config configures a River client.
type Config struct {
	// Workers is the number of workers per queue. Empty makes an
	// insert-only client that never works jobs.
	Workers map[string]int
	// Schema is River's schema ("" = the search_path).
	Schema string
	// SoftStopTimeout is how long a stopping client lets running jobs finish
	// before cancelling them; cancelled jobs go back to available without
	// spending an attempt.
	SoftStopTimeout time.Duration
	// Retention is how long finished tasks stay visible (default 7 days).
	Retention time.Duration
	// FetchCooldown and FetchPollInterval tune how fast idle queues pick up
	// new work (River's defaults when zero).
	FetchCooldown, FetchPollInterval time.Duration
	// Logger receives River's logs.
	Logger *slog.Logger
	// Progress batches the progress writes of this process's jobs; nil
	// writes each report directly. Run it for as long as the client runs.
	Progress *progress.Writer
	// RescueAfter is how long a job may stay running before the leader
	// hands it back for another attempt (River's default when zero: an hour
	// past the job timeout). A worker that died leaves its jobs running.
	RescueAfter time.Duration
	// JobTimeout is the timeout of jobs whose worker sets none (River's
	// default, a minute, when zero); RescueAfter may not be shorter.
	JobTimeout time.Duration
	// Lease, when set, tracks and fences this client's jobs and gives the
	// client its id (see Lease); run it alongside the client.
	Lease *Lease
	// Steps, when set, completes workflow steps as their work returns
	// rather than in River's next batch (see StepCompleter); run it
	// alongside the client.
	Steps *StepCompleter
}

// DefaultRetention is how long finished tasks stay visible by default.
const DefaultRetention = 7 * 24 * time.Hour

// DefaultFetchCooldown is how soon after one fetch a queue may fetch again.
// River's default (100 ms) delays pickup on an idle queue by up to that
// much, because an insert's notification that arrives within the cooldown
// waits for it; 2 ms measured p50/p99 pickup of a few ms (make bench).
const DefaultFetchCooldown = 2 * time.Millisecond

// NewClient configures a River client on pool with every worker in reg.
func NewClient(st *store.Store, reg *Registry, cfg Config) (*Client, error) {
	retention := cfg.Retention
	if retention == 0 {
		retention = DefaultRetention
	}
	rc := &river.Config{
		Logger:                      cfg.Logger,
		Schema:                      cfg.Schema,
		Workers:                     reg.Workers(),
		SoftStopTimeout:             cfg.SoftStopTimeout,
		RetryPolicy:                 DefaultRetryPolicy(),
		CompletedJobRetentionPeriod: retention,
		CancelledJobRetentionPeriod: retention,
		DiscardedJobRetentionPeriod: retention,
		FetchCooldown:               cmp.Or(cfg.FetchCooldown, DefaultFetchCooldown),
		FetchPollInterval:           cfg.FetchPollInterval,
		RescueStuckJobsAfter:        cfg.RescueAfter,
		JobTimeout:                  cfg.JobTimeout,
		Middleware: []rivertype.Middleware{
			&OutageMiddleware{Logger: logger(cfg)},
			&progress.Middleware{Store: st, Writer: cfg.Progress, Logger: logger(cfg)},
		},
	}
	if cfg.Steps != nil {
		rc.Middleware = append([]rivertype.Middleware{cfg.Steps.Middleware()}, rc.Middleware...)
	}
	if cfg.Lease != nil {
		rc.ID = cfg.Lease.cfg.ClientID
		rc.Middleware = append([]rivertype.Middleware{cfg.Lease.Middleware()}, rc.Middleware...)
	}
	// Outermost of inboxq's: the stack grows before the others run.
	rc.Middleware = append([]rivertype.Middleware{stackMiddleware{}}, rc.Middleware...)
	if len(cfg.Workers) > 0 {
		rc.Queues = make(map[string]river.QueueConfig, len(cfg.Workers))
		for q, n := range cfg.Workers {
			rc.Queues[q] = river.QueueConfig{MaxWorkers: n}
		}
	}
	client, err := river.NewClient(driver(st.Pool(), cfg.Steps), rc)
	if err != nil {
		return nil, fmt.Errorf("creating river client: %w", err)
	}
	return client, nil
}
