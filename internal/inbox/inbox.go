// Package inbox holds the domain vocabulary that every other inboxq package
// shares: queue names, sentinel errors and, as they arrive, the task and
// mailbox types. It imports nothing but the standard library so that any
// layer may depend on it.
package inbox

import (
	"errors"
	"fmt"
)

// Sentinel errors. Adapters translate their own errors into these once, at
// their boundary; the API maps them to HTTP status codes in one place.
var (
	// ErrNotFound means the thing asked for does not exist or is not visible
	// to the caller.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the request does not fit the current state.
	ErrConflict = errors.New("conflict")
	// ErrInvalid means the input is malformed.
	ErrInvalid = errors.New("invalid input")
	// ErrForbidden means the caller's role does not allow the action (used
	// only where saying so reveals nothing about other users' data).
	ErrForbidden = errors.New("forbidden")
	// ErrUnavailable means a dependency (usually the database) cannot serve
	// the request right now.
	ErrUnavailable = errors.New("unavailable")
)

// Queue names. Each task family has its own queue so that a flood of one kind
// of work cannot starve another; their worker counts are configured apart.
const (
	QueueSync        = "sync"
	QueueClassify    = "classify"
	QueueBulk        = "bulk"
	QueueMaintenance = "maintenance"
	QueueDefault     = "default"
)

// Queues lists every queue inboxq works, in a stable order.
func Queues() []string {
	return []string{QueueSync, QueueClassify, QueueBulk, QueueMaintenance, QueueDefault}
}

// FieldError is invalid input in one named field (e.g. "cron",
// "args.account_id", "cursor"); the API reports the field as the error's
// location. errors.Is(err, ErrInvalid) holds.
type FieldError struct {
	// Field is the input's path: its name, or dotted for nested fields.
	Field string
	// Msg says what is wrong, as a sentence.
	Msg string
}

func (e *FieldError) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrInvalid) hold.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// Invalid returns a FieldError for field.
func Invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}
