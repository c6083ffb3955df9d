package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/inboxq/inboxq/internal/auth"
	"github.com/inboxq/inboxq/internal/store"
)

const tokenUsage = `Manages API tokens. Tokens are stored hashed: a new token is printed once.

  inboxq token create --user NAME [--admin] [--name TEXT] [--expires DURATION]
  inboxq token list [--user NAME]
  inboxq token revoke ID`

func cmdToken(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	if len(args) == 0 {
		_ = parseFlags(fs, []string{"--help"}, stdout, tokenUsage)
		return fmt.Errorf("%w: token needs create, list or revoke", errUsage)
	}
	sub, rest := args[0], args[1:]
	fs = flag.NewFlagSet("token "+sub, flag.ContinueOnError)
	var (
		user    = fs.String("user", "", "user name (created if new)")
		admin   = fs.Bool("admin", false, "make the user an admin")
		name    = fs.String("name", "", "what the token is for")
		expires = fs.Duration("expires", 0, "lifetime, e.g. 720h (default: never expires)")
	)
	switch sub {
	case "create", "list", "revoke":
	case "-h", "--help", "help":
		return ignoreHelp(parseFlags(fs, []string{"--help"}, stdout, tokenUsage))
	default:
		return fmt.Errorf("%w: unknown token command %q (create, list, revoke)", errUsage, sub)
	}
	if err := parseFlags(fs, rest, stdout, tokenUsage); err != nil {
		return ignoreHelp(err)
	}
	var revokeID int64
	switch {
	case sub == "create" && *user == "":
		return fmt.Errorf("%w: token create needs --user NAME", errUsage)
	case sub == "create" && *expires < 0:
		return fmt.Errorf("%w: --expires must be positive", errUsage)
	case sub == "revoke":
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if fs.NArg() != 1 || err != nil || id < 1 {
			return fmt.Errorf("%w: token revoke needs one token id (see token list)", errUsage)
		}
		revokeID = id
	case fs.NArg() > 0:
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
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
	svc := auth.NewService(store.New(pool))

	switch sub {
	case "create":
		t, err := svc.CreateToken(ctx, auth.CreateTokenParams{User: *user, Admin: *admin, Name: *name, TTL: *expires})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", t.Secret)
		fmt.Fprintf(stdout, "# token %d for %s (%s)%s; shown once, store it now\n", t.Token.ID, t.User.Name, t.User.Role, expiry(t.Token.ExpiresAt))
		return nil
	case "list":
		ts, err := svc.ListTokens(ctx, *user)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSER\tNAME\tPREFIX\tCREATED\tEXPIRES\tLAST USED\tSTATE")
		for _, t := range ts {
			state := "live"
			switch {
			case t.RevokedAt != nil:
				state = "revoked"
			case t.ExpiresAt != nil && t.ExpiresAt.Before(time.Now()):
				state = "expired"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s…\t%s\t%s\t%s\t%s\n", t.ID, t.User, t.Name, t.Prefix,
				t.CreatedAt.Format(time.DateTime), when(t.ExpiresAt), when(t.LastUsedAt), state)
		}
		return tw.Flush()
	default:
		if err := svc.RevokeToken(ctx, revokeID); err != nil {
			return fmt.Errorf("token %d: no such live token", revokeID)
		}
		fmt.Fprintf(stdout, "token %d revoked\n", revokeID)
		return nil
	}
}

func expiry(t *time.Time) string {
	if t == nil {
		return ", never expires"
	}
	return ", expires " + t.Format(time.RFC3339)
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.DateTime)
}
