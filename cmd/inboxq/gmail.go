package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/inboxq/inboxq/internal/auth"
	"github.com/inboxq/inboxq/internal/config"
	"github.com/inboxq/inboxq/internal/gmail"
	"github.com/inboxq/inboxq/internal/gmail/fakegmail"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/llm/fakellm"
	"github.com/inboxq/inboxq/internal/secret"
	"github.com/inboxq/inboxq/internal/store"
)

// secretBox loads the keys that seal OAuth tokens. Without
// INBOXQ_SECRET_KEY it uses (and on first start creates) a development key
// under the data directory, and says so.
func secretBox(cfg config.Config, logger *slog.Logger) (*secret.Box, error) {
	raw := cfg.SecretKey
	if raw == "" {
		path := filepath.Join(cfg.DataDir, "secret.key")
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			key := make([]byte, 32)
			_, _ = rand.Read(key)
			b = []byte(base64.StdEncoding.EncodeToString(key) + "\n")
			if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
				return nil, fmt.Errorf("creating %s: %w", cfg.DataDir, err)
			}
			if err := os.WriteFile(path, b, 0o600); err != nil {
				return nil, fmt.Errorf("writing development key: %w", err)
			}
		} else if err != nil {
			return nil, fmt.Errorf("reading development key: %w", err)
		}
		logger.Warn("development_secret_key", slog.String("path", path),
			slog.String("hint", "set INBOXQ_SECRET_KEY (openssl rand -base64 32) in production"))
		raw = strings.TrimSpace(string(b))
	}
	keys, err := secret.ParseKeys(raw)
	if err != nil {
		return nil, fmt.Errorf("INBOXQ_SECRET_KEY: %w", err)
	}
	return secret.NewBox(keys...)
}

// demo is the built-in fake Gmail of demo mode.
type demo struct {
	fake *fakegmail.Server
	srv  *http.Server
	ln   net.Listener
	url  string
}

const (
	demoMailbox = "demo@inboxq.example"
	demoClient  = "inboxq-demo"
	demoSecret  = "inboxq-demo-secret"
)

// startDemo makes a generated mailbox behaving like Gmail (OAuth with a
// consent page, quotas, history) and a loopback port to serve it on (the caller serves d.srv on
// d.ln).
func startDemo(cfg config.Config, logger *slog.Logger) (*demo, error) {
	fake := fakegmail.New(fakegmail.Options{
		RequireAuth: true, ClientID: demoClient, ClientSecret: demoSecret,
		UserUnitsPerMinute: int(cfg.GmailUserQuota),
		// Anyone signing in on the demo's consent page gets a generated
		// mailbox of their own, the same one for the same address.
		NewMailbox: func(address string) *fakegmail.Mailbox {
			h := fnv.New64a()
			_, _ = h.Write([]byte(address))
			return fakegmail.Generate(int64(h.Sum64()>>1), cfg.DemoMessages, fakegmail.GenerateOptions{Address: address})
		},
	})
	fake.AddMailbox(fakegmail.Generate(42, cfg.DemoMessages, fakegmail.GenerateOptions{Address: demoMailbox}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the demo gmail: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", fake)
	mux.Handle(demoLLMPath+"/", http.StripPrefix(demoLLMPath, fakellm.New("")))
	d := &demo{fake: fake, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln, url: "http://" + ln.Addr().String()}
	logger.Info("demo_gmail", slog.String("url", d.url), slog.String("mailbox", demoMailbox), slog.Int("messages", cfg.DemoMessages))
	return d, nil
}

// gmailConfig points the provider at Google, or at the demo's fake.
func gmailConfig(cfg config.Config, d *demo) gmail.Config {
	gc := gmail.Config{
		ClientID: cfg.GoogleClientID, ClientSecret: cfg.GoogleClientSecret, RedirectURL: cfg.GoogleRedirectURL,
		AuthURL: cfg.GoogleAuthURL, TokenURL: cfg.GoogleTokenURL, APIBase: cfg.GmailAPIURL,
		UserQuota: cfg.GmailUserQuota, ProjectQuota: cfg.GmailProjectQuota,
	}
	if d != nil {
		gc.ClientID, gc.ClientSecret = demoClient, demoSecret
		gc.TokenURL, gc.APIBase, gc.AuthURL = d.url+"/token", d.url, d.url+"/auth"
	}
	return gc
}

// connectDemo makes the demo user, a token for them (printed), and their
// connected demo mailbox.
func connectDemo(ctx context.Context, st *store.Store, p *gmail.Provider, d *demo, stdout interface{ Write([]byte) (int, error) }, addr string) error {
	tok, revoked, err := mintDemoToken(ctx, auth.NewService(st))
	if err != nil {
		return err
	}
	rt := d.fake.IssueRefreshToken(demoMailbox, fakegmail.ScopeModify)
	if _, err := p.ConnectToken(ctx, tok.User.UserID, &oauth2.Token{RefreshToken: rt}); err != nil {
		return fmt.Errorf("connecting the demo mailbox: %w", err)
	}
	fmt.Fprintf(stdout, "\n  inboxq demo: open http://%s/ and sign in with this token (user demo, admin):\n\n    %s\n\n", addr, tok.Secret)
	if revoked > 0 {
		fmt.Fprintf(stdout, "  (the previous demo token no longer works: each start makes a new one)\n\n")
	}
	return nil
}

// demoTokenName names the token each demo start prints.
const demoTokenName = "demo"

// mintDemoToken revokes the demo tokens earlier starts printed (a token's
// secret is stored only hashed, so it cannot be printed again) and mints a
// new 7-day admin token for the demo user: one demo token is valid at a
// time. It returns how many it revoked.
func mintDemoToken(ctx context.Context, a *auth.Service) (auth.CreatedToken, int, error) {
	old, err := a.ListTokens(ctx, "demo")
	if err != nil {
		return auth.CreatedToken{}, 0, err
	}
	revoked := 0
	for _, t := range old {
		if t.Name != demoTokenName || t.RevokedAt != nil || (t.ExpiresAt != nil && t.ExpiresAt.Before(time.Now())) {
			continue
		}
		if err := a.RevokeToken(ctx, t.ID); err != nil && !errors.Is(err, inbox.ErrNotFound) {
			return auth.CreatedToken{}, 0, fmt.Errorf("revoking the previous demo token: %w", err)
		}
		revoked++
	}
	tok, err := a.CreateToken(ctx, auth.CreateTokenParams{User: "demo", Admin: true, Name: demoTokenName, TTL: 7 * 24 * time.Hour})
	return tok, revoked, err
}
