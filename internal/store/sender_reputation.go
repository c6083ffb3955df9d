package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// Sender is a stored sender reputation: an address or a domain of a user,
// its evidence counts, score and factors (JSON).
type Sender = dbsqlc.SenderReputation

// SenderMessage is what one message says about its sender.
type SenderMessage = dbsqlc.SenderMessagesRow

// SenderSums is a domain's evidence: its addresses' counts added up.
type SenderSums = dbsqlc.SenderDomainSumsRow

// SenderRun is where a user's last update_sender_reputation got to.
type SenderRun = dbsqlc.SenderReputationRun

// SenderWrite is one sender to store.
type SenderWrite struct {
	Kind             string          `json:"kind"`
	Key              string          `json:"key"`
	Domain           string          `json:"domain"`
	Score            int             `json:"score"`
	Factors          json.RawMessage `json:"factors"`
	Messages         int             `json:"messages"`
	Read             int             `json:"read"`
	Kept             int             `json:"kept"`
	DiscardedUnread  int             `json:"discarded_unread"`
	CorrectedSpam    int             `json:"corrected_spam"`
	CorrectedNotSpam int             `json:"corrected_not_spam"`
	AuthPass         int             `json:"auth_pass"`
	AuthFail         int             `json:"auth_fail"`
	SPFFail          int             `json:"spf_fail"`
	DKIMFail         int             `json:"dkim_fail"`
	DMARCFail        int             `json:"dmarc_fail"`
	ListUnsubscribe  int             `json:"list_unsubscribe"`
	LastMessageAt    time.Time       `json:"last_message_at"`
	EvidenceAt       time.Time       `json:"evidence_at"`
}

// SenderRunGet returns the user's last run (ok false before the first).
func (s *Store) SenderRunGet(ctx context.Context, user int64) (SenderRun, bool, error) {
	r, err := s.q.SenderRunGet(ctx, user)
	err = translate(err, "reading the last reputation run")
	if errors.Is(err, inbox.ErrNotFound) {
		return r, false, nil
	}
	return r, err == nil, err
}

// SenderRunStart clears the user's rescan flag as a run that rescans starts.
func (s *Store) SenderRunStart(ctx context.Context, user int64) error {
	return translate(s.q.SenderRunStart(ctx, user), "starting a reputation run")
}

// SenderRunFinish records that evidence up to through is counted.
func (s *Store) SenderRunFinish(ctx context.Context, user int64, through time.Time) error {
	return translate(s.q.SenderRunFinish(ctx, dbsqlc.SenderRunFinishParams{UserID: user, EvidenceThrough: through}),
		"finishing a reputation run")
}

// SenderChangedAddresses returns the addresses of the user's messages with
// evidence newer than since.
func (s *Store) SenderChangedAddresses(ctx context.Context, user int64, since time.Time) ([]string, error) {
	a, err := s.q.SenderChangedAddresses(ctx, dbsqlc.SenderChangedAddressesParams{OwnerID: user, Since: since})
	return a, translate(err, "finding senders with new evidence")
}

// SenderAddressKeys returns the addresses the user has a reputation for.
func (s *Store) SenderAddressKeys(ctx context.Context, user int64) ([]string, error) {
	a, err := s.q.SenderAddressKeys(ctx, user)
	return a, translate(err, "listing sender addresses")
}

// SenderMessageCounts returns how many of the user's messages each address
// sent (at most; addresses without mail are absent).
func (s *Store) SenderMessageCounts(ctx context.Context, user int64, addresses []string) (map[string]int64, error) {
	rows, err := s.q.SenderMessageCounts(ctx, dbsqlc.SenderMessageCountsParams{OwnerID: user, Addresses: nonNil(addresses)})
	if err != nil {
		return nil, translate(err, "counting senders' mail")
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Address] = r.Messages
	}
	return out, nil
}

// SenderMessages returns what the user's mail from addresses says, ordered
// by address.
func (s *Store) SenderMessages(ctx context.Context, user int64, addresses []string) ([]SenderMessage, error) {
	rows, err := s.q.SenderMessages(ctx, dbsqlc.SenderMessagesParams{OwnerID: user, Addresses: nonNil(addresses)})
	return rows, translate(err, "reading senders' mail")
}

// SenderUpsert stores senders and returns how many were new or changed
// (unchanged ones are not written).
func (s *Store) SenderUpsert(ctx context.Context, user int64, rows []SenderWrite) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	b, err := json.Marshal(rows)
	if err != nil {
		return 0, err
	}
	n, err := s.q.SenderUpsertMany(ctx, dbsqlc.SenderUpsertManyParams{UserID: user, Rows: b})
	return n, translate(err, "saving sender reputations")
}

// SenderDelete forgets senders of kind (address or domain) that have no
// mail left.
func (s *Store) SenderDelete(ctx context.Context, user int64, kind string, keys []string) (int64, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	n, err := s.q.SenderDelete(ctx, dbsqlc.SenderDeleteParams{UserID: user, Kind: kind, Keys: keys})
	return n, translate(err, "deleting sender reputations")
}

// SenderDomainSums returns the evidence of domains from their addresses'.
func (s *Store) SenderDomainSums(ctx context.Context, user int64, domains []string) ([]SenderSums, error) {
	rows, err := s.q.SenderDomainSums(ctx, dbsqlc.SenderDomainSumsParams{UserID: user, Domains: nonNil(domains)})
	return rows, translate(err, "adding up domains")
}

// SenderListParams selects a page of senders.
type SenderListParams = dbsqlc.SenderListParams

// SenderList returns a page of the user's senders.
func (s *Store) SenderList(ctx context.Context, p SenderListParams) ([]Sender, error) {
	rows, err := s.q.SenderList(ctx, p)
	return rows, translate(err, "listing senders")
}

// SenderGet returns one of the user's senders (inbox.ErrNotFound if they
// have no such sender).
func (s *Store) SenderGet(ctx context.Context, user, id int64) (Sender, error) {
	r, err := s.q.SenderGet(ctx, dbsqlc.SenderGetParams{UserID: user, ID: id})
	return r, translate(err, "reading sender")
}

// SenderLeaning returns the user's senders with at least minMessages
// messages and a score at or under low or at or over high, by key.
func (s *Store) SenderLeaning(ctx context.Context, user int64, minMessages, low, high int) (map[string]int, error) {
	rows, err := s.q.SenderLeaning(ctx, dbsqlc.SenderLeaningParams{UserID: user, MinMessages: int32(minMessages), Low: int32(low), High: int32(high)})
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Key] = int(r.Score)
	}
	return out, translate(err, "reading sender reputations")
}
