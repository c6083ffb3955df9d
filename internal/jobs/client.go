// Package jobs holds inboxq's River workers, one file per task family, and
// the one place a River client is configured, shared by `serve`, `worker`
// and the tests.
package jobs

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/inboxq/inboxq/internal/store"
)

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
	// Logger receives River's logs.
	Logger *slog.Logger
	// Extra registers more workers (tests use it for probe jobs).
	Extra func(*river.Workers)
}

// NewClient configures a River client on st's pool with every inboxq worker.
func NewClient(st *store.Store, cfg Config) (*Client, error) {
	workers := river.NewWorkers()
	Register(workers, st)
	if cfg.Extra != nil {
		cfg.Extra(workers)
	}

	rc := &river.Config{
		Logger:          cfg.Logger,
		Schema:          cfg.Schema,
		Workers:         workers,
		SoftStopTimeout: cfg.SoftStopTimeout,
	}
	if len(cfg.Workers) > 0 {
		rc.Queues = make(map[string]river.QueueConfig, len(cfg.Workers))
		for q, n := range cfg.Workers {
			rc.Queues[q] = river.QueueConfig{MaxWorkers: n}
		}
		rc.PeriodicJobs = periodicJobs()
	}
	client, err := river.NewClient(riverpgxv5.New(st.Pool()), rc)
	if err != nil {
		return nil, fmt.Errorf("creating river client: %w", err)
	}
	return client, nil
}

// Register adds every inboxq worker to workers.
func Register(workers *river.Workers, st *store.Store) {
	river.AddWorker(workers, &MonitorSystemHealthWorker{Store: st})
}

func periodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(time.Minute), func() (river.JobArgs, *river.InsertOpts) {
			return MonitorSystemHealthArgs{}, nil
		}, &river.PeriodicJobOpts{ID: MonitorSystemHealthArgs{}.Kind(), RunOnStart: true}),
	}
}
