package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"riverqueue.com/riverui"

	"github.com/inboxq/inboxq/internal/account"
	"github.com/inboxq/inboxq/internal/api"
	"github.com/inboxq/inboxq/internal/auth"
	"github.com/inboxq/inboxq/internal/classify"
	"github.com/inboxq/inboxq/internal/config"
	"github.com/inboxq/inboxq/internal/exportdir"
	"github.com/inboxq/inboxq/internal/gmail"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/lifecycle"
	"github.com/inboxq/inboxq/internal/messages"
	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
	"github.com/inboxq/inboxq/web"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// wiringOptions choose what serve starts; tests add kinds and a schema.
type wiringOptions struct {
	http    bool // serve the API
	migrate bool // apply migrations at start
	// schema puts River and every query in one schema (tests).
	schema string
	// extraKinds registers more task kinds (tests).
	extraKinds func(*jobs.Registry, *store.Store)
	// schedulerInterval overrides how often due schedules are checked.
	schedulerInterval time.Duration
	// listening receives the bound address once the API listens (tests).
	listening chan<- string
	// rescueAfter, jobTimeout and slice shorten River's rescue of jobs
	// left running by a dead worker (tests).
	rescueAfter, jobTimeout, slice time.Duration
	// leaseBeat and leaseDeadAfter shorten the lease (tests).
	leaseBeat, leaseDeadAfter time.Duration
	// exports is where export archives are written (DataDir/exports).
	exports string
	// ask is the LLM stage of classification (nil: off).
	ask jobs.Asker
}

// setup reads the configuration and builds the logger.
func setup(getenv func(string) string, stdout io.Writer) (config.Config, *slog.Logger, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return cfg, nil, fmt.Errorf("configuration: %w", err)
	}
	hopts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewJSONHandler(stdout, hopts)
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(stdout, hopts)
	}
	return cfg, slog.New(h), nil
}

// registry builds the kind registry: every task family with its workers.
func registry(st *store.Store, g *gmail.Provider, logger *slog.Logger, w wiringOptions) *jobs.Registry {
	reg := jobs.NewRegistry()
	jobs.RegisterMaintenance(reg, st, jobs.DefaultHealthThresholds(), w.exports)
	jobs.RegisterSync(reg, st, g, logger, w.slice)
	jobs.RegisterBulk(reg, st, g, logger)
	jobs.RegisterExport(reg, st, w.exports, logger)
	jobs.RegisterUpkeep(reg, st, g, logger)
	jobs.RegisterClassify(reg, st, classify.MustBase(), w.ask, logger, w.slice)
	jobs.RegisterCluster(reg, st, logger)
	jobs.RegisterRefresh(reg, st)
	if w.extraKinds != nil {
		w.extraKinds(reg, st)
	}
	return reg
}

// serve runs workers and the scheduler, and the API when w.http is set,
// until ctx ends or one of its parts fails. Every long-lived part is a
// lifecycle service: started in order, stopped in reverse (HTTP first, so
// no request meets a stopped part; River before the lease and the progress
// writer, so running jobs flush their last progress and what River could
// not record is handed back), every goroutine joined before the pool
// closes.
func serve(ctx context.Context, getenv func(string) string, stdout io.Writer, w wiringOptions) error {
	// Configuration.
	cfg, logger, err := setup(getenv, stdout)
	if err != nil {
		return err
	}
	logger.InfoContext(ctx, "starting", slog.String("version", version()), slog.Bool("http", w.http), slog.Any("config", cfg))

	// Database.
	pool, err := openDatabase(ctx, cfg, w.schema, logger, w.migrate)
	if err != nil {
		return err
	}
	defer pool.Close()
	st := store.New(pool)
	sup := lifecycle.New(logger)

	// Gmail: Google, or the demo's fake.
	box, err := secretBox(cfg, logger)
	if err != nil {
		return err
	}
	var dm *demo
	switch {
	case cfg.Demo() && w.http:
		if dm, err = startDemo(cfg, logger); err != nil {
			return err
		}
		sup.Add("demo gmail", lifecycle.HTTP(dm.srv, dm.ln, time.Second))
		if err := st.DemoGmailSet(ctx, dm.url); err != nil {
			return err
		}
	case cfg.Demo():
		// A worker in demo mode works the fake that serve runs.
		url, err := st.DemoGmailGet(ctx)
		switch {
		case errors.Is(err, inbox.ErrNotFound):
			// Without the fake, Gmail work would call Google with no
			// client: leave the Gmail queues to serve, work the rest.
			logger.WarnContext(ctx, "demo_gmail_missing", slog.String("hint",
				"demo mode (no INBOXQ_GOOGLE_CLIENT_ID): the demo's Gmail runs inside `inboxq serve`, and none has started on this database; "+
					"this worker leaves the sync and bulk queues to serve (start serve first, or configure a Google OAuth client)"))
			workers := maps.Clone(cfg.Workers)
			delete(workers, inbox.QueueSync)
			delete(workers, inbox.QueueBulk)
			cfg.Workers = workers
		case err != nil:
			return err
		default:
			dm = &demo{url: url}
			logger.InfoContext(ctx, "demo_gmail", slog.String("url", url))
		}
	}
	provider := gmail.NewProvider(gmailConfig(cfg, dm), st, box, logger)

	// Workers.
	w.exports = filepath.Join(cfg.DataDir, "exports")
	if w.ask == nil {
		w.ask = asker(cfg, dm, st, logger)
	}
	reg := registry(st, provider, logger, w)
	progressWriter := progress.NewWriter(st, logger)
	steps := jobs.NewStepCompleter(st, logger)
	lease := jobs.NewLease(st, jobs.LeaseConfig{ClientID: jobs.NewClientID(), Beat: w.leaseBeat, DeadAfter: w.leaseDeadAfter}, logger)
	client, err := jobs.NewClient(st, reg, jobs.Config{
		Progress:        progressWriter,
		Steps:           steps,
		Lease:           lease,
		RescueAfter:     cmp.Or(w.rescueAfter, jobs.RescueDelay(w.slice)),
		JobTimeout:      w.jobTimeout,
		Workers:         cfg.Workers,
		Schema:          w.schema,
		SoftStopTimeout: cfg.ShutdownTimeout,
		Retention:       cfg.Retention,
		Logger:          logger,
	})
	if err != nil {
		return err
	}
	svc := tasks.NewService(st, client, reg, logger).WithLimits(tasks.Limits{
		MaxQueued: cfg.MaxQueuedTasks, CreatesPerMinute: cfg.TaskCreatesPerMinute, MaxSchedules: cfg.MaxSchedules,
		MinScheduleInterval: cfg.ScheduleMinInterval, RunAtHorizon: cfg.RunAtHorizon,
	})
	// Fair share: the cap of each queue this process works (the last
	// process to start sets it).
	for _, q := range inbox.Queues() {
		if err := st.FairQueueSet(ctx, q, cfg.QueueUserCap(q)); err != nil {
			return err
		}
	}
	metrics := jobs.NewMetrics(st, logger)
	scheduler := tasks.NewScheduler(svc, client.ID, cmp.Or(w.schedulerInterval, time.Second), logger)

	// The progress writer outlives River: jobs flush their last progress
	// while River stops. The lease outlives River too: at its stop it hands
	// back what River could not record.
	sup.Add("progress writer", lifecycle.Func(func(ctx context.Context) error { progressWriter.Run(ctx); return nil }))
	sup.Add("workflow step completer", lifecycle.Func(func(ctx context.Context) error { steps.Run(ctx); return nil }))
	sup.Add("lease", lease)
	sup.Add("river", lifecycle.Hooks(
		// River's own soft stop, below, ends its jobs; not the context.
		func(ctx context.Context) error { return client.Start(context.WithoutCancel(ctx)) },
		func() { stopRiver(ctx, client, cfg.ShutdownTimeout, logger) }))
	sup.Add("metrics", lifecycle.Func(func(ctx context.Context) error { return metrics.Observe(ctx, client) }))
	sup.Add("scheduler", lifecycle.Func(func(ctx context.Context) error { scheduler.Run(ctx); return nil }))

	// API.
	var ln net.Listener
	if w.http {
		if ln, err = net.Listen("tcp", cfg.ListenAddr); err != nil {
			return fmt.Errorf("listening on %s (set INBOXQ_ADDR to another address): %w", cfg.ListenAddr, err)
		}
		ui, err := riverui.NewHandler(&riverui.HandlerOpts{Endpoints: riverui.NewEndpoints(client, nil), Logger: logger, Prefix: "/riverui"})
		if err != nil {
			return fmt.Errorf("creating river ui: %w", err)
		}
		// River UI stops its own background services when its context ends.
		sup.Add("river ui", lifecycle.Hooks(ui.Start, func() {}))
		// One LISTEN connection for this process's event streams.
		hub := progress.NewHub(st, func(ctx context.Context) (*pgx.Conn, error) {
			return pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
		}, logger)
		sup.Add("event hub", lifecycle.Func(hub.Run).WithReady(func(context.Context) error {
			if !hub.Listening() {
				return errors.New("live events are not connected (yet)")
			}
			return nil
		}))
		handler := api.NewHandler(api.Deps{
			Hub:            hub,
			StreamsPerUser: cfg.StreamsPerUser,
			StreamMaxLife:  cfg.StreamMaxLife,
			SnapshotTasks:  cfg.StreamSnapshotTasks,
			Dashboard:      web.Dist(),
			Accounts:       account.Service{Accounts: gmail.Accounts{P: provider}, Store: st},
			Messages:       &messages.Service{Store: st, River: client, Classifier: classify.MustBase()},
			Exports:        exportdir.Dir{Store: st, Path: w.exports},
			Analytics:      st,
			Logger:         logger,
			Version:        version(),
			Tasks:          svc,
			Auth:           auth.NewService(st),
			Idempotency:    st,
			RiverUI:        ui,
			Metrics:        promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{}),
			Ready:          readiness(st, pool, w.schema, sup),
		})
		sup.Add("http", lifecycle.HTTP(api.NewServer(cfg.ListenAddr, handler, logger), ln, cfg.ShutdownTimeout))
	}

	// The parts run on a context the signal does not cancel: the stop
	// below is explicit and ordered.
	if err := sup.Start(context.WithoutCancel(ctx)); err != nil {
		if ln != nil {
			_ = ln.Close()
		}
		return err
	}
	defer sup.Stop() // also on the paths below that return early
	// River records this id in a job's attempted_by (and the lease in
	// inboxq_worker): the log says which process it is.
	logger.InfoContext(ctx, "river_started", slog.String("client_id", client.ID()))
	if ln != nil {
		logger.InfoContext(ctx, "listening", slog.String("url", "http://"+ln.Addr().String()))
		if dm != nil {
			if err := connectDemo(ctx, st, provider, dm, stdout, ln.Addr().String()); err != nil {
				logger.ErrorContext(ctx, "demo_setup_failed", slog.Any("err", err))
			}
		}
		if w.listening != nil {
			w.listening <- ln.Addr().String()
		}
	}

	// Shutdown.
	var failed error
	select {
	case <-ctx.Done():
		logger.InfoContext(ctx, "stopping", slog.Duration("timeout", cfg.ShutdownTimeout))
	case err := <-sup.Failed():
		// A part is gone (the API's listener, the event hub): stop
		// everything and exit non-zero, so that whatever runs the process
		// restarts it instead of keeping a part-dead one.
		logger.ErrorContext(ctx, "service_failed", slog.Any("err", err))
		failed = err
	}
	sup.Stop()
	logger.InfoContext(ctx, "stopped")
	return failed
}

// openDatabase connects and either migrates or checks that nothing is pending.
func openDatabase(ctx context.Context, cfg config.Config, schema string, logger *slog.Logger, migrate bool) (*pgxpool.Pool, error) {
	pool, err := store.Connect(ctx, cfg.DatabaseURL, store.ConnectOptions{
		CreateDatabase: cfg.DatabaseURLDefaulted,
		Schema:         schema,
		MaxConns:       int32(cfg.DatabaseMaxConns),
	})
	if err != nil {
		return nil, err
	}
	if migrate {
		res, err := store.Migrate(ctx, pool, schema, logger)
		if err != nil {
			pool.Close()
			return nil, err
		}
		logger.InfoContext(ctx, "migrated", slog.Any("river_versions", res.River), slog.Any("inboxq_versions", res.Inboxq))
		return pool, nil
	}
	st, err := store.Status(ctx, pool, schema)
	if err == nil && !st.Current() {
		err = errors.New("the database has pending migrations; run: inboxq migrate")
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// readiness is what /readyz answers: the database answers, every part says
// it is ready, and no migration is pending.
func readiness(st *store.Store, pool *pgxpool.Pool, schema string, sup *lifecycle.Supervisor) func(context.Context) error {
	return func(ctx context.Context) error {
		if _, err := st.Ping(ctx); err != nil {
			return errors.New("database unreachable")
		}
		if err := sup.Ready(ctx); err != nil {
			return err
		}
		ms, err := store.Status(ctx, pool, schema)
		if err != nil {
			return errors.New("cannot read migration state")
		}
		if !ms.Current() {
			return errors.New("database migrations are pending")
		}
		return nil
	}
}

// stopRiver soft-stops River: running jobs get timeout to finish, then their
// contexts are cancelled and they go back to available without spending an
// attempt. The extra grace lets cancelled jobs report back.
func stopRiver(ctx context.Context, client *jobs.Client, timeout time.Duration, logger *slog.Logger) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout+10*time.Second)
	defer cancel()
	if err := client.Stop(sctx); err != nil {
		logger.WarnContext(ctx, "river_stop_incomplete", slog.Any("err", err))
	}
}
