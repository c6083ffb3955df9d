// Package gmail is inboxq's access to Gmail: OAuth (authorization code,
// sealed refresh tokens), the real gmail/v1 client pointed at Google or at
// the fake, a quota limiter whose buckets live in PostgreSQL so it holds
// across processes, bounded concurrency per mailbox, and the classification
// of Google's errors into what a job should do (snooze, stop, retry).
package gmail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	gm "google.golang.org/api/gmail/v1"
	"google.golang.org/api/option"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/secret"
	"github.com/inboxq/inboxq/internal/store"
)

// Scopes inboxq asks for. Permanent deletion needs ScopeFull, granted only
// by a separate consent; everything else works with ScopeModify.
const (
	ScopeModify = "https://www.googleapis.com/auth/gmail.modify"
	ScopeFull   = "https://mail.google.com/"
)

// Config says where Google (or the fake) is and how much quota there is.
type Config struct {
	ClientID, ClientSecret, RedirectURL string
	// AuthURL and TokenURL default to Google's; APIBase to Gmail's.
	AuthURL, TokenURL, APIBase string
	// UserQuota and ProjectQuota are Gmail's limits in units per minute;
	// the limiter runs at 95 % of them.
	UserQuota, ProjectQuota float64
	// Concurrency bounds one mailbox's calls in flight (default 6).
	Concurrency int
	// HTTPClient carries the calls (default http.DefaultClient).
	HTTPClient *http.Client
}

// Provider makes Gmail clients for accounts.
type Provider struct {
	cfg    Config
	store  *store.Store
	box    *secret.Box
	logger *slog.Logger
}

// NewProvider returns a Provider.
func NewProvider(cfg Config, st *store.Store, box *secret.Box, logger *slog.Logger) *Provider {
	if cfg.AuthURL == "" {
		cfg.AuthURL = "https://accounts.google.com/o/oauth2/auth"
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = "https://oauth2.googleapis.com/token"
	}
	if cfg.UserQuota <= 0 {
		cfg.UserQuota = 6000
	}
	if cfg.ProjectQuota <= 0 {
		cfg.ProjectQuota = 1_200_000
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 6
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	return &Provider{cfg: cfg, store: st, box: box, logger: logger}
}

// Configured reports whether a Google OAuth client is set up.
func (p *Provider) Configured() bool { return p.cfg.ClientID != "" }

func (p *Provider) oauth() *oauth2.Config {
	return &oauth2.Config{
		ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, RedirectURL: p.cfg.RedirectURL,
		Scopes:   []string{ScopeModify},
		Endpoint: oauth2.Endpoint{AuthURL: p.cfg.AuthURL, TokenURL: p.cfg.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
	}
}

// AuthCodeURL is where to send a person to grant access; state ties the
// callback to the request, and the PKCE challenge of verifier ties the code
// Google returns to whoever holds verifier.
func (p *Provider) AuthCodeURL(state, verifier string) string {
	return p.oauth().AuthCodeURL(state, oauth2.AccessTypeOffline, oauth2.ApprovalForce, oauth2.S256ChallengeOption(verifier))
}

func (p *Provider) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, p.cfg.HTTPClient)
}

// Connect exchanges an authorization code with its PKCE verifier, reads the
// mailbox's address and stores the account for owner with its refresh token
// sealed.
func (p *Provider) Connect(ctx context.Context, owner int64, code, verifier string) (inbox.Account, error) {
	tok, err := p.oauth().Exchange(p.ctx(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return inbox.Account{}, fmt.Errorf("exchanging the authorization code: %w", classify(err))
	}
	return p.ConnectToken(ctx, owner, tok)
}

// ConnectToken stores an account for owner from an OAuth token.
func (p *Provider) ConnectToken(ctx context.Context, owner int64, tok *oauth2.Token) (inbox.Account, error) {
	if tok.RefreshToken == "" {
		return inbox.Account{}, fmt.Errorf("google returned no refresh token (consent was not offline): %w", inbox.ErrInvalid)
	}
	svc, err := p.service(ctx, tok)
	if err != nil {
		return inbox.Account{}, err
	}
	prof, err := svc.Users.GetProfile("me").Context(ctx).Do()
	if err != nil {
		return inbox.Account{}, fmt.Errorf("reading the mailbox profile: %w", classify(err))
	}
	scopes := []string{ScopeModify}
	if s, ok := tok.Extra("scope").(string); ok && s != "" {
		scopes = strings.Fields(s)
	}
	acct, err := p.store.AccountUpsert(ctx, owner, prof.EmailAddress, scopes)
	if err != nil {
		return inbox.Account{}, err
	}
	sealed, keyID := p.box.Seal([]byte(tok.RefreshToken), aad(acct.ID))
	if err := p.store.AccountSetToken(ctx, acct.ID, sealed, keyID); err != nil {
		return inbox.Account{}, err
	}
	acct.SealedToken, acct.TokenKeyID = sealed, keyID
	return acct, nil
}

// aad binds a sealed token to its account row.
func aad(accountID int64) []byte {
	return []byte("account:" + strconv.FormatInt(accountID, 10) + ":refresh_token")
}

func (p *Provider) service(ctx context.Context, tok *oauth2.Token) (*gm.Service, error) {
	opts := []option.ClientOption{option.WithTokenSource(p.oauth().TokenSource(p.ctx(context.WithoutCancel(ctx)), tok))}
	if p.cfg.APIBase != "" {
		opts = append(opts, option.WithEndpoint(strings.TrimSuffix(p.cfg.APIBase, "/")+"/"))
	}
	svc, err := gm.NewService(p.ctx(ctx), opts...)
	if err != nil {
		return nil, fmt.Errorf("creating gmail client: %w", err)
	}
	return svc, nil
}

// Client is one account's Gmail access for one job.
type Client struct {
	p    *Provider
	acct inbox.Account
	svc  *gm.Service
	sem  chan struct{}

	mu    sync.Mutex
	units float64 // spent by this client
}

// Client opens an account's mailbox. A missing or unreadable token is
// ErrRevoked: the person must connect the account again.
func (p *Provider) Client(ctx context.Context, acct inbox.Account) (*Client, error) {
	if acct.Status != inbox.AccountConnected || len(acct.SealedToken) == 0 {
		return nil, fmt.Errorf("account %s is %s: %w", acct.Email, acct.Status, ErrRevoked)
	}
	rt, err := p.box.Open(acct.SealedToken, acct.TokenKeyID, aad(acct.ID))
	if err != nil {
		return nil, fmt.Errorf("opening the refresh token of %s: %w", acct.Email, err)
	}
	svc, err := p.service(ctx, &oauth2.Token{RefreshToken: string(rt)})
	if err != nil {
		return nil, err
	}
	return &Client{p: p, acct: acct, svc: svc, sem: make(chan struct{}, p.cfg.Concurrency)}, nil
}

// UnitsSpent is the quota this client has used.
func (c *Client) UnitsSpent() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.units
}

// maxInlineWait is the longest a call waits for quota in place; longer
// waits surface as RateLimitedError so the job snoozes instead.
const maxInlineWait = 3 * time.Second

// maxInlineTotal bounds the rate-limit waiting one call does in place.
const maxInlineTotal = 15 * time.Second

// take reserves units in the mailbox's and the project's buckets, both or
// neither (one statement), waiting in place for short waits.
func (c *Client) take(ctx context.Context, units float64) error {
	user, project := c.p.cfg.UserQuota*0.95/60, c.p.cfg.ProjectQuota*0.95/60
	buckets := []store.QuotaBucket{
		{Name: "user:" + c.acct.Email, Rate: user, Burst: user * 2},
		{Name: "project", Rate: project, Burst: project * 2},
	}
	for {
		wait, bucket, err := c.p.store.QuotaTakeAll(ctx, units, buckets...)
		if err != nil {
			return err
		}
		if wait == 0 {
			break
		}
		if wait > maxInlineWait {
			return &RateLimitedError{RetryAt: time.Now().Add(wait), Reason: "quota budget of " + bucket + " spent"}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	c.mu.Lock()
	c.units += units
	c.mu.Unlock()
	return nil
}

// call runs one metered, bounded call and classifies its error. A rate
// limit from Google blocks the mailbox's bucket for every process; a short
// one (Retry-After ≤ 3 s) is waited out here, a longer one is returned so
// the job snoozes.
func (c *Client) call(ctx context.Context, units float64, do func() error) error {
	waited := time.Duration(0)
	for {
		if err := c.take(ctx, units); err != nil {
			return err
		}
		select {
		case c.sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		err := do()
		<-c.sem
		if err == nil {
			return nil
		}
		err = classify(err)
		var rl *RateLimitedError
		if !errors.As(err, &rl) {
			return err
		}
		if berr := c.p.store.QuotaBlock(context.WithoutCancel(ctx), "user:"+c.acct.Email, rl.RetryAt); berr != nil {
			c.p.logger.WarnContext(ctx, "quota_block_failed", slog.Any("err", berr))
		}
		wait := time.Until(rl.RetryAt)
		if wait > maxInlineWait || waited+wait > maxInlineTotal {
			return err
		}
		waited += max(wait, 0) // the next take waits for the block to pass
	}
}

// Profile reads the mailbox profile (1 unit).
func (c *Client) Profile(ctx context.Context) (*gm.Profile, error) {
	var out *gm.Profile
	err := c.call(ctx, 1, func() (err error) {
		out, err = c.svc.Users.GetProfile("me").Context(ctx).Do()
		return err
	})
	return out, err
}

// ListPage lists one page of message ids, newest first (5 units).
func (c *Client) ListPage(ctx context.Context, q string, labelIDs []string, pageToken string, max int64) (*gm.ListMessagesResponse, error) {
	var out *gm.ListMessagesResponse
	err := c.call(ctx, 5, func() (err error) {
		call := c.svc.Users.Messages.List("me").MaxResults(max).Context(ctx).Fields("messages(id,threadId),nextPageToken,resultSizeEstimate")
		if q != "" {
			call = call.Q(q)
		}
		if len(labelIDs) > 0 {
			call = call.LabelIds(labelIDs...)
		}
		if pageToken != "" {
			call = call.PageToken(pageToken)
		}
		out, err = call.Do()
		return err
	})
	return out, err
}

// metadataHeaders are the headers inboxq keeps.
var metadataHeaders = []string{"From", "To", "Subject", "Date", "List-Unsubscribe", "Authentication-Results",
	"List-Id", "List-Post", "Precedence"}

// Metadata fetches messages' metadata with bounded concurrency (5 units
// each). Messages that no longer exist come back in gone.
func (c *Client) Metadata(ctx context.Context, ids []string) (msgs []inbox.Message, gone []string, err error) {
	type result struct {
		msg  *inbox.Message
		gone bool
		err  error
	}
	results := make([]result, len(ids))
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i, id := range ids {
		wg.Go(func() {
			var m *gm.Message
			err := c.call(ctx, 5, func() (err error) {
				m, err = c.svc.Users.Messages.Get("me", id).Format("metadata").MetadataHeaders(metadataHeaders...).Context(ctx).Do()
				return err
			})
			switch {
			case errors.Is(err, ErrNotFound):
				results[i] = result{gone: true}
			case err != nil:
				results[i] = result{err: err}
				cancel() // the first failure stops the rest
			default:
				msg := convert(m)
				results[i] = result{msg: &msg}
			}
		})
	}
	wg.Wait()
	for i, r := range results {
		switch {
		case r.err != nil && !errors.Is(r.err, context.Canceled):
			return nil, nil, r.err
		case r.err != nil:
			err = r.err
		case r.gone:
			gone = append(gone, ids[i])
		case r.msg != nil:
			msgs = append(msgs, *r.msg)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return msgs, gone, nil
}

func convert(m *gm.Message) inbox.Message {
	out := inbox.Message{ID: m.Id, ThreadID: m.ThreadId, Snippet: m.Snippet, Labels: m.LabelIds,
		Size: m.SizeEstimate, HistoryID: m.HistoryId, Date: time.UnixMilli(m.InternalDate).UTC()}
	if m.Payload != nil {
		for _, h := range m.Payload.Headers {
			switch strings.ToLower(h.Name) {
			case "from":
				out.From = h.Value
			case "to":
				out.To = h.Value
			case "subject":
				out.Subject = h.Value
			case "list-unsubscribe":
				out.ListUnsubscribe = h.Value
			case "authentication-results":
				out.AuthResults = h.Value
			case "list-id":
				out.ListID = h.Value
			case "list-post":
				out.ListPost = h.Value
			case "precedence":
				out.Precedence = h.Value
			}
		}
	}
	return out
}

// History lists one page of changes since start (2 units).
func (c *Client) History(ctx context.Context, start uint64, pageToken string) (*gm.ListHistoryResponse, error) {
	var out *gm.ListHistoryResponse
	err := c.call(ctx, 2, func() (err error) {
		call := c.svc.Users.History.List("me").StartHistoryId(start).MaxResults(500).Context(ctx).
			HistoryTypes("messageAdded", "messageDeleted", "labelAdded", "labelRemoved")
		if pageToken != "" {
			call = call.PageToken(pageToken)
		}
		out, err = call.Do()
		return err
	})
	return out, err
}

// BatchModify adds and removes labels on up to 1000 messages (50 units).
func (c *Client) BatchModify(ctx context.Context, ids, add, remove []string) error {
	if len(ids) > 1000 {
		return fmt.Errorf("batchModify takes at most 1000 ids, got %d: %w", len(ids), inbox.ErrInvalid)
	}
	return c.call(ctx, 50, func() error {
		return c.svc.Users.Messages.BatchModify("me", &gm.BatchModifyMessagesRequest{Ids: ids, AddLabelIds: add, RemoveLabelIds: remove}).Context(ctx).Do()
	})
}

// BatchDelete deletes up to 1000 messages for good (50 units); it needs the
// full mail scope.
func (c *Client) BatchDelete(ctx context.Context, ids []string) error {
	if len(ids) > 1000 {
		return fmt.Errorf("batchDelete takes at most 1000 ids, got %d: %w", len(ids), inbox.ErrInvalid)
	}
	return c.call(ctx, 50, func() error {
		return c.svc.Users.Messages.BatchDelete("me", &gm.BatchDeleteMessagesRequest{Ids: ids}).Context(ctx).Do()
	})
}

// LabelIDs maps label names to ids, creating the user labels that are
// missing (1 unit to list, 5 per label created). System labels (INBOX,
// CATEGORY_…) map to themselves.
func (c *Client) LabelIDs(ctx context.Context, names []string) ([]string, error) {
	var list *gm.ListLabelsResponse
	if err := c.call(ctx, 1, func() (err error) {
		list, err = c.svc.Users.Labels.List("me").Context(ctx).Do()
		return err
	}); err != nil {
		return nil, err
	}
	byName := map[string]string{}
	for _, l := range list.Labels {
		byName[strings.ToLower(l.Name)] = l.Id
		byName[strings.ToLower(l.Id)] = l.Id
	}
	ids := make([]string, 0, len(names))
	for _, name := range names {
		if id, ok := byName[strings.ToLower(name)]; ok {
			ids = append(ids, id)
			continue
		}
		var created *gm.Label
		if err := c.call(ctx, 5, func() (err error) {
			created, err = c.svc.Users.Labels.Create("me", &gm.Label{Name: name, LabelListVisibility: "labelShow", MessageListVisibility: "show"}).Context(ctx).Do()
			return err
		}); err != nil {
			return nil, err
		}
		byName[strings.ToLower(name)] = created.Id
		ids = append(ids, created.Id)
	}
	return ids, nil
}
