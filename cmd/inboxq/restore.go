package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/inboxq/inboxq/internal/archive"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/restore"
	"github.com/inboxq/inboxq/internal/store"
)

const restoreUsage = `Brings a user's inboxq data back from an export or backup archive (.tar.gz):
their Gmail accounts, as disconnected (archives hold no tokens: connect each
again to resume syncing; an account the user already has is left as it is),
and their messages' metadata (updated in place when already there). Labels
come back with the messages; task history is not restored. Everything is
written in one transaction, or nothing. An archive this database recorded
must match its recorded SHA-256.

  inboxq restore --user NAME FILE`

func cmdRestore(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	user := fs.String("user", "", "the user to restore into (must exist: see inboxq token create)")
	if err := parseFlags(fs, args, stdout, restoreUsage); err != nil {
		return ignoreHelp(err)
	}
	switch {
	case *user == "":
		return fmt.Errorf("%w: restore needs --user NAME", errUsage)
	case fs.NArg() != 1:
		return fmt.Errorf("%w: restore needs one archive file (inboxq restore --user NAME FILE)", errUsage)
	}
	path := fs.Arg(0)

	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("cannot open %s: %w", path, err)
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.IsDir() {
		return fmt.Errorf("%s is a directory, not an archive", path)
	}

	cfg, logger, err := setup(getenv, io.Discard)
	if err != nil {
		return err
	}
	pool, err := openDatabase(ctx, cfg, "", logger, false)
	if err != nil {
		return err
	}
	defer pool.Close()
	st := store.New(pool)

	p, err := st.UserGetByName(ctx, *user)
	if errors.Is(err, inbox.ErrNotFound) {
		return fmt.Errorf("no user named %q (create one with: inboxq token create --user %s)", *user, *user)
	}
	if err != nil {
		return err
	}
	res, err := restore.Archive(ctx, st, p.UserID, f)
	switch {
	case errors.Is(err, archive.ErrCorrupt), errors.Is(err, restore.ErrChecksumMismatch), errors.Is(err, restore.ErrUnstorable):
		return fmt.Errorf("%s: %w; nothing was restored", path, err)
	case err != nil:
		return fmt.Errorf("restoring %s: %w; nothing was restored", path, err)
	}

	m := res.Manifest
	fmt.Fprintf(stdout, "restored %s %s of %q (%s) into %s\n", m.Kind, m.ArchiveID, m.Owner.Name, m.CreatedAt.Format("2006-01-02 15:04:05Z07:00"), p.Name)
	fmt.Fprintf(stdout, "accounts: %d added (disconnected: connect each again), %d already there\n", res.AccountsCreated, res.AccountsKept)
	fmt.Fprintf(stdout, "messages: %d\n", res.Messages)
	if res.Verified {
		fmt.Fprintln(stdout, "checksum: matches the recorded archive")
	} else {
		fmt.Fprintln(stdout, "checksum: not recorded in this database (not checked)")
	}
	return nil
}
