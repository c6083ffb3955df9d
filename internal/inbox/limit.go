package inbox

import (
	"errors"
	"time"
)

// ErrLimited means the caller reached one of the limits that keep one user
// from slowing down or starving the others (the API answers 429).
var ErrLimited = errors.New("limit reached")

// LimitError is an ErrLimited that says when trying again can help.
type LimitError struct {
	// Msg says which limit, in a sentence.
	Msg string
	// RetryAfter is how long until a retry can succeed; 0 when waiting
	// alone will not help (the caller must finish or delete something).
	RetryAfter time.Duration
}

func (e *LimitError) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrLimited) hold.
func (e *LimitError) Is(target error) bool { return target == ErrLimited }
