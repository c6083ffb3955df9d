package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"

	"github.com/inboxq/inboxq/internal/api"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
)

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, w wiringOptions) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	if err := parseFlags(fs, args, stdout, "Runs the HTTP API (INBOXQ_ADDR), applies pending migrations and works every queue.\nStops gracefully on SIGINT or SIGTERM."); err != nil {
		return ignoreHelp(err)
	}
	w.http, w.migrate = true, true
	return serve(ctx, getenv, stdout, w)
}

func cmdWorker(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, w wiringOptions) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	if err := parseFlags(fs, args, stdout, "Works every queue without serving HTTP, so more machines can share the load.\nThe database must already be migrated (inboxq migrate). Stops gracefully on SIGINT or SIGTERM."); err != nil {
		return ignoreHelp(err)
	}
	return serve(ctx, getenv, stdout, w)
}

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	if err := parseFlags(fs, args, stdout, "Applies River's and inboxq's pending migrations in one transaction.\n\"inboxq migrate status\" lists them and changes nothing."); err != nil {
		return ignoreHelp(err)
	}
	status := false
	switch fs.NArg() {
	case 0:
	case 1:
		if fs.Arg(0) != "status" {
			return fmt.Errorf("%w: migrate takes no argument but \"status\", got %q", errUsage, fs.Arg(0))
		}
		status = true
	default:
		return fmt.Errorf("%w: too many arguments to migrate", errUsage)
	}

	cfg, logger, err := setup(getenv, stdout)
	if err != nil {
		return err
	}
	pool, err := store.Connect(ctx, cfg.DatabaseURL, store.ConnectOptions{CreateDatabase: cfg.DatabaseURLDefaulted, MaxConns: 4})
	if err != nil {
		return err
	}
	defer pool.Close()

	if status {
		st, err := store.Status(ctx, pool, "")
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tNAME\tSTATE")
		for _, m := range st.Applied {
			fmt.Fprintf(tw, "%04d\t%s\tapplied\n", m.Version, m.Name)
		}
		for _, m := range st.Pending {
			fmt.Fprintf(tw, "%04d\t%s\tpending\n", m.Version, m.Name)
		}
		river := "current"
		if !st.RiverCurrent {
			river = fmt.Sprintf("pending: %v", st.RiverMessages)
		}
		fmt.Fprintf(tw, "river\t(River's own schema)\t%s\n", river)
		return tw.Flush()
	}

	res, err := store.Migrate(ctx, pool, "", logger)
	if err != nil {
		return err
	}
	logger.InfoContext(ctx, "migrated", slog.Any("river_versions", res.River), slog.Any("inboxq_versions", res.Inboxq))
	return nil
}

func cmdOpenAPI(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("openapi", flag.ContinueOnError)
	if err := parseFlags(fs, args, stdout, "Prints the OpenAPI 3.1 document of the HTTP API. Touches no database."); err != nil {
		return ignoreHelp(err)
	}
	// The document needs only the kind registry: no database, no River.
	doc, err := api.OpenAPI(version(), tasks.NewService(nil, nil, registry(nil, nil, nil, wiringOptions{}), nil))
	if err != nil {
		return fmt.Errorf("building openapi document: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "%s\n", doc)
	return err
}

func ignoreHelp(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}
