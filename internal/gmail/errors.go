package gmail

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"
)

// Errors a job acts on.
var (
	// ErrRevoked means the refresh token no longer works (invalid_grant):
	// the person must connect the account again; retrying cannot help.
	ErrRevoked = errors.New("access to the mailbox was revoked or expired; connect the account again")
	// ErrHistoryExpired means the incremental cursor is too old: a full
	// sync must start over.
	ErrHistoryExpired = errors.New("gmail history expired")
	// ErrNotFound means the message (or mailbox object) does not exist.
	ErrNotFound = errors.New("not found in gmail")
	// ErrForbidden means the granted scopes do not allow the call.
	ErrForbidden = errors.New("gmail refused: insufficient permissions")
)

// RateLimitedError means Google (or the local budget) asks to wait.
type RateLimitedError struct {
	RetryAt time.Time
	Reason  string
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("gmail rate limited (%s) until %s", e.Reason, e.RetryAt.Format(time.RFC3339))
}

var retryAfterText = regexp.MustCompile(`Retry after (\d{4}-\d\d-\d\dT[0-9:.]+Z)`)

// classify maps an error of the gmail or oauth2 client to the errors above.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && (re.ErrorCode == "invalid_grant" || re.ErrorCode == "unauthorized_client") {
		return fmt.Errorf("%w (%s)", ErrRevoked, re.ErrorDescription)
	}
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return err
	}
	reasons := make([]string, 0, len(ge.Errors))
	for _, e := range ge.Errors {
		reasons = append(reasons, e.Reason)
	}
	has := func(r string) bool {
		for _, x := range reasons {
			if x == r {
				return true
			}
		}
		return false
	}
	switch {
	case ge.Code == http.StatusTooManyRequests,
		ge.Code == http.StatusForbidden && (has("rateLimitExceeded") || has("userRateLimitExceeded") || has("quotaExceeded")):
		return &RateLimitedError{RetryAt: retryAt(ge), Reason: strings.Join(reasons, ",")}
	case ge.Code == http.StatusUnauthorized:
		return fmt.Errorf("%w (%s)", ErrRevoked, ge.Message)
	case ge.Code == http.StatusNotFound:
		return fmt.Errorf("%w: %s", ErrNotFound, ge.Message)
	case ge.Code == http.StatusForbidden:
		return fmt.Errorf("%w: %s", ErrForbidden, ge.Message)
	}
	return err
}

// retryAt reads when to try again: Retry-After, else "Retry after <time>"
// in the message, else a second from now.
func retryAt(ge *googleapi.Error) time.Time {
	if v := ge.Header.Get("Retry-After"); v != "" {
		if secs, err := strconv.Atoi(v); err == nil {
			return time.Now().Add(time.Duration(secs) * time.Second)
		}
		if t, err := http.ParseTime(v); err == nil {
			return t
		}
	}
	if m := retryAfterText.FindStringSubmatch(ge.Message); m != nil {
		if t, err := time.Parse(time.RFC3339Nano, m[1]); err == nil {
			return t
		}
	}
	return time.Now().Add(time.Second)
}
