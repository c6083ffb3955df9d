package inbox

import "time"

// Account statuses.
const (
	AccountConnected    = "connected"
	AccountNeedsReauth  = "needs_reauth"
	AccountDisconnected = "disconnected"
)

// Account is a connected Gmail mailbox.
type Account struct {
	ID            int64
	OwnerID       int64
	Email         string
	Status        string
	Scopes        []string
	HistoryID     *int64
	MessagesTotal *int64
	FullSyncedAt  *time.Time
	LastSyncedAt  *time.Time
	CreatedAt     time.Time
	// SealedToken and TokenKeyID hold the encrypted refresh token.
	SealedToken []byte
	TokenKeyID  string
}

// HasScope reports whether the account granted scope.
func (a Account) HasScope(scope string) bool {
	for _, s := range a.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// Message is a mailbox message's metadata as inboxq keeps it.
type Message struct {
	ID              string
	ThreadID        string
	From            string
	To              string
	Subject         string
	Snippet         string
	Date            time.Time
	Labels          []string
	Size            int64
	ListUnsubscribe string
	AuthResults     string
	HistoryID       uint64
}
