package inbox

import (
	"fmt"
	"time"
)

// Account statuses.
const (
	AccountConnected    = "connected"
	AccountNeedsReauth  = "needs_reauth"
	AccountDisconnected = "disconnected"
)

// Consent is a started mailbox connection (Google's OAuth consent): the URL
// to send the person to, and the key the browser that started it must bring
// back to the callback (kept in an HttpOnly cookie), valid until Expires.
type Consent struct {
	URL        string
	BrowserKey string
	Expires    time.Time
}

// Reasons a consent callback is refused before anything is stored. Both
// are ErrInvalid; the API tells them apart to say what happened.
var (
	// ErrConsentExpired means the callback's state is unknown, expired or
	// already used.
	ErrConsentExpired = fmt.Errorf("the consent link expired or was already used; connect again: %w", ErrInvalid)
	// ErrConsentOtherBrowser means the callback came from a browser that
	// did not start the connection: someone may have sent their own
	// consent link to the person consenting.
	ErrConsentOtherBrowser = fmt.Errorf("the connection was started in another browser or by someone else; start it again in this browser: %w", ErrInvalid)
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
	// ListID, ListPost and Precedence are the mailing-list headers the
	// classifier reads.
	ListID     string
	ListPost   string
	Precedence string
	HistoryID  uint64
}

// Label is one of a mailbox's Gmail labels.
type Label struct {
	// ID is Gmail's label id (INBOX, CATEGORY_PROMOTIONS, Label_12): what
	// bulk targets filter on.
	ID string
	// Name is what a person calls it: Gmail's name for a user label, a
	// readable one for a system label (Promotions for CATEGORY_PROMOTIONS).
	Name string
	// System labels are Gmail's own; the others are the person's.
	System bool
	// Messages is how many stored messages carry it.
	Messages int64
}
