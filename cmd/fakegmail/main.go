// Command fakegmail serves the fake Gmail (internal/gmail/fakegmail: the
// REST API, OAuth's token endpoint, quotas, history) as a process of its
// own, so that real inboxq processes can be pointed at it
// (INBOXQ_GMAIL_API_URL, INBOXQ_GOOGLE_TOKEN_URL) and survive it while they
// are killed and restarted. A control API under /_fake/, a path Gmail never
// uses, lets a test harness add mailboxes, issue refresh tokens, read the
// request log and mailbox state, and slow calls down (see control.go).
//
// It prints "listening http://ADDR" once it accepts connections, and stops
// on SIGINT or SIGTERM. It is a test tool: it listens on loopback by default
// and its control API has no authentication.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/inboxq/inboxq/internal/gmail/fakegmail"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "fakegmail:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fakegmail", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (port 0: a free port; the address is printed)")
	clientID := fs.String("client-id", "", "OAuth client id the token endpoint requires (empty: any client)")
	clientSecret := fs.String("client-secret", "", "OAuth client secret that goes with -client-id")
	userQuota := fs.Int("user-quota", 15000, "quota units per minute per mailbox (negative: unlimited)")
	projectQuota := fs.Int("project-quota", 1200000, "quota units per minute for the project (negative: unlimited)")
	concurrent := fs.Int("max-concurrent", 10, "requests in flight per mailbox (negative: unlimited)")
	seed := fs.Int64("seed", 1, "seed of the generated mailboxes (the n-th adds n)")
	var boxes mailboxFlags
	fs.Var(&boxes, "mailbox", "generate a mailbox at start: ADDRESS=MESSAGES (repeatable; more via POST /_fake/mailboxes)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}

	fake := fakegmail.New(fakegmail.Options{
		RequireAuth: true, ClientID: *clientID, ClientSecret: *clientSecret,
		UserUnitsPerMinute: *userQuota, ProjectUnitsPerMinute: *projectQuota, MaxConcurrentPerUser: *concurrent,
	})
	for i, b := range boxes {
		fake.AddMailbox(fakegmail.Generate(*seed+int64(i), b.messages, fakegmail.GenerateOptions{Address: b.address}))
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	srv := &http.Server{Handler: newHandler(fake), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "listening http://%s\n", ln.Addr())

	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return srv.Close()
	}
	return nil
}

// mailboxFlags are the -mailbox flags: ADDRESS=MESSAGES.
type mailboxFlags []struct {
	address  string
	messages int
}

func (m *mailboxFlags) String() string { return fmt.Sprint(len(*m), " mailboxes") }

func (m *mailboxFlags) Set(v string) error {
	addr, n, ok := strings.Cut(v, "=")
	messages, err := strconv.Atoi(n)
	if !ok || addr == "" || err != nil || messages < 0 {
		return fmt.Errorf("want ADDRESS=MESSAGES, got %q", v)
	}
	*m = append(*m, struct {
		address  string
		messages int
	}{addr, messages})
	return nil
}
