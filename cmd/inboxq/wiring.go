package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/riverqueue/river"

	"github.com/inboxq/inboxq/internal/api"
	"github.com/inboxq/inboxq/internal/config"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/store"
)

// wiringOptions choose what serve starts; tests add workers and a schema.
type wiringOptions struct {
	http    bool // serve the API
	migrate bool // apply migrations at start
	// schema puts River and every query in one schema (tests).
	schema string
	// extraWorkers registers more workers (tests).
	extraWorkers func(*river.Workers)
	// listening receives the bound address once the API listens (tests).
	listening chan<- string
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

// serve runs workers, and the API when w.http is set, until ctx ends; then
// it stops in reverse order: HTTP, River (soft stop), the pool.
func serve(ctx context.Context, getenv func(string) string, stdout io.Writer, w wiringOptions) error {
	// Configuration.
	cfg, logger, err := setup(getenv, stdout)
	if err != nil {
		return err
	}
	logger.InfoContext(ctx, "starting", slog.String("version", version()), slog.Bool("http", w.http), slog.Any("config", cfg))

	// Database.
	pool, err := store.Connect(ctx, cfg.DatabaseURL, store.ConnectOptions{
		CreateDatabase: cfg.DatabaseURLDefaulted,
		Schema:         w.schema,
		MaxConns:       int32(cfg.DatabaseMaxConns),
	})
	if err != nil {
		return err
	}
	defer pool.Close()
	if w.migrate {
		res, err := store.Migrate(ctx, pool, w.schema, logger)
		if err != nil {
			return err
		}
		logger.InfoContext(ctx, "migrated", slog.Any("river_versions", res.River), slog.Any("inboxq_versions", res.Inboxq))
	} else if st, err := store.Status(ctx, pool, w.schema); err != nil {
		return err
	} else if !st.Current() {
		return errors.New("the database has pending migrations; run: inboxq migrate")
	}
	st := store.New(pool)

	// Services.
	client, err := jobs.NewClient(st, jobs.Config{
		Workers:         cfg.Workers,
		Schema:          w.schema,
		SoftStopTimeout: cfg.ShutdownTimeout,
		Logger:          logger,
		Extra:           w.extraWorkers,
	})
	if err != nil {
		return err
	}
	// River gets a context that the signal does not cancel: the stop below is
	// explicit and ordered after HTTP.
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("starting river: %w", err)
	}

	// API.
	var srv *http.Server
	serveErr := make(chan error, 1)
	if w.http {
		ln, err := net.Listen("tcp", cfg.ListenAddr)
		if err != nil {
			stopRiver(ctx, client, cfg.ShutdownTimeout, logger)
			return fmt.Errorf("listening on %s (set INBOXQ_ADDR to another address): %w", cfg.ListenAddr, err)
		}
		handler := api.NewHandler(api.Deps{
			Logger:  logger,
			Version: version(),
			Ready: func(ctx context.Context) error {
				if _, err := st.Ping(ctx); err != nil {
					return errors.New("database unreachable")
				}
				ms, err := store.Status(ctx, pool, w.schema)
				if err != nil {
					return errors.New("cannot read migration state")
				}
				if !ms.Current() {
					return errors.New("database migrations are pending")
				}
				return nil
			},
		})
		srv = api.NewServer(cfg.ListenAddr, handler, logger)
		go func() { serveErr <- srv.Serve(ln) }()
		logger.InfoContext(ctx, "listening", slog.String("url", "http://"+ln.Addr().String()))
		if w.listening != nil {
			w.listening <- ln.Addr().String()
		}
	}

	// Shutdown.
	select {
	case <-ctx.Done():
		logger.InfoContext(ctx, "stopping", slog.Duration("timeout", cfg.ShutdownTimeout))
	case err := <-serveErr:
		logger.ErrorContext(ctx, "http_server_failed", slog.Any("err", err))
	}
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		if err := srv.Shutdown(sctx); err != nil {
			logger.WarnContext(ctx, "http_shutdown_incomplete", slog.Any("err", err))
		}
		cancel()
	}
	stopRiver(ctx, client, cfg.ShutdownTimeout, logger)
	logger.InfoContext(ctx, "stopped")
	return nil
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
