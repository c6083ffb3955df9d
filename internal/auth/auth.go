// Package auth owns users and API tokens: minting a token (shown once,
// stored as a SHA-256 hash), authenticating a presented token, listing and
// revoking them.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store"
)

// tokenPrefix marks inboxq tokens, so secret scanners and people can tell
// them apart.
const tokenPrefix = "iq_"

// ErrUnauthenticated means no valid token was presented.
var ErrUnauthenticated = errors.New("missing, expired, revoked or unknown token")

// Service manages users and tokens.
type Service struct {
	store *store.Store
}

// NewService returns a Service on st.
func NewService(st *store.Store) *Service { return &Service{store: st} }

var userName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$`)

// CreateTokenParams describe a token to mint.
type CreateTokenParams struct {
	User  string
	Admin bool          // make the user an admin
	Name  string        // what the token is for
	TTL   time.Duration // 0: never expires
}

// CreatedToken is a new token: Secret is shown once and never stored.
type CreatedToken struct {
	Secret string
	Token  store.Token
	User   inbox.Principal
}

// CreateToken creates the user if needed and mints a token for them.
func (s *Service) CreateToken(ctx context.Context, p CreateTokenParams) (CreatedToken, error) {
	if !userName.MatchString(p.User) {
		return CreatedToken{}, fmt.Errorf("user name %q: use 1-100 letters, digits and . _ @ + - (starting with a letter or digit): %w", p.User, inbox.ErrInvalid)
	}
	if p.TTL < 0 {
		return CreatedToken{}, fmt.Errorf("expiry must be positive: %w", inbox.ErrInvalid)
	}
	role := inbox.RoleUser
	if p.Admin {
		role = inbox.RoleAdmin
	}
	secret, hash := newSecret()
	var expires *time.Time
	if p.TTL > 0 {
		t := time.Now().Add(p.TTL)
		expires = &t
	}
	var out CreatedToken
	err := s.store.InTx(ctx, func(_ pgx.Tx, st *store.Store) error {
		u, err := st.UserUpsert(ctx, p.User, role)
		if err != nil {
			return err
		}
		tok, err := st.TokenInsert(ctx, store.NewToken{UserID: u.UserID, Name: p.Name, Hash: hash,
			Prefix: secret[:len(tokenPrefix)+6], ExpiresAt: expires, Purpose: purposeAPI})
		if err != nil {
			return err
		}
		out = CreatedToken{Secret: secret, Token: tok, User: u}
		return nil
	})
	return out, err
}

// Grant is what a presented token opens: the caller, and the token (with
// the token that minted it, for events tokens) whose revocation ends what
// it opened.
type Grant struct {
	Principal inbox.Principal
	TokenID   int64
	ParentID  int64 // 0: none
}

// Tokens lists the ids whose revocation ends the grant: the token and its
// parent, if any.
func (g Grant) Tokens() []int64 {
	if g.ParentID != 0 {
		return []int64{g.TokenID, g.ParentID}
	}
	return []int64{g.TokenID}
}

// Authenticate returns the principal of a presented API token.
func (s *Service) Authenticate(ctx context.Context, secret string) (inbox.Principal, error) {
	g, err := s.authenticate(ctx, secret, purposeAPI)
	return g.Principal, err
}

// AuthenticateToken is Authenticate with the token's identity, which
// CreateEventsToken needs to tie an events token to its parent.
func (s *Service) AuthenticateToken(ctx context.Context, secret string) (Grant, error) {
	return s.authenticate(ctx, secret, purposeAPI)
}

// AuthenticateEvents accepts an API token or a short-lived events token
// (see CreateEventsToken) from an Authorization header; only event streams
// call it. The grant names the tokens whose revocation must end the stream
// (see StillValid).
func (s *Service) AuthenticateEvents(ctx context.Context, secret string) (Grant, error) {
	return s.authenticate(ctx, secret, purposeAPI, purposeEvents)
}

// AuthenticateEventsURL accepts only an events token: the one token that may
// travel in a URL, where it lands in access logs, proxies and browser
// history. A full API token there is refused even though it is valid: it
// lives for months and opens everything.
func (s *Service) AuthenticateEventsURL(ctx context.Context, secret string) (Grant, error) {
	return s.authenticate(ctx, secret, purposeEvents)
}

// Token purposes (api_token.purpose).
const (
	purposeAPI    = "api"
	purposeEvents = "events"
)

func (s *Service) authenticate(ctx context.Context, secret string, accept ...string) (Grant, error) {
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 200 {
		return Grant{}, ErrUnauthenticated
	}
	t, err := s.store.TokenAuthenticate(ctx, Hash(secret))
	if errors.Is(err, inbox.ErrNotFound) || (err == nil && !slices.Contains(accept, t.Purpose)) {
		return Grant{}, ErrUnauthenticated
	}
	if err != nil {
		return Grant{}, err
	}
	if t.Purpose == purposeAPI {
		if err := s.store.TokenTouch(ctx, t.ID); err != nil {
			return Grant{}, err
		}
	}
	g := Grant{Principal: t.User, TokenID: t.ID}
	if t.ParentID != nil {
		g.ParentID = *t.ParentID
	}
	return g, nil
}

// StillValid reports whether what the grant opened (an event stream) may
// go on: neither its token nor the token's parent has been revoked or has
// expired since. An events token's own two-minute expiry bounds only when
// it opens a stream, not how long the stream lasts.
func (s *Service) StillValid(ctx context.Context, g Grant) (bool, error) {
	return s.store.TokenStillValid(ctx, g.TokenID)
}

// EventsTokenTTL is how long an events token opens streams.
const EventsTokenTTL = 2 * time.Minute

// CreateEventsToken mints a short-lived token that opens only event streams,
// for browsers (EventSource cannot send an Authorization header). It expires
// after EventsTokenTTL, and dies with the API token that minted it (the
// grant's); cleanup_expired_tokens deletes it afterwards.
func (s *Service) CreateEventsToken(ctx context.Context, g Grant) (string, time.Time, error) {
	secret, hash := newSecret()
	expires := time.Now().Add(EventsTokenTTL)
	parent := g.TokenID
	if _, err := s.store.TokenInsert(ctx, store.NewToken{UserID: g.Principal.UserID, Name: "events", Hash: hash,
		Prefix: secret[:len(tokenPrefix)+6], ExpiresAt: &expires, Purpose: purposeEvents, ParentID: &parent}); err != nil {
		return "", time.Time{}, err
	}
	return secret, expires, nil
}

// ListTokens lists tokens (of one user when user is not empty).
func (s *Service) ListTokens(ctx context.Context, user string) ([]store.Token, error) {
	return s.store.TokenList(ctx, user)
}

// RevokeToken revokes a token by id, and the events tokens it minted. The
// database announces each revocation, and the event streams opened with
// them end.
func (s *Service) RevokeToken(ctx context.Context, id int64) error {
	return s.store.TokenRevoke(ctx, id)
}

// Hash is how tokens are stored: SHA-256. Tokens carry 256 random bits, so a
// fast hash is as strong as a slow one here and keeps every request cheap.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func newSecret() (string, []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, Hash(secret)
}
