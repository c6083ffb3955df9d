package fakegmail

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// ErrNotFound is matched (with errors.Is) by errors for unknown messages,
// labels, mailboxes and expired history ids.
var ErrNotFound = errors.New("not found")

// ErrInvalidArgument is matched (with errors.Is) by errors for bad input such
// as unknown label ids or malformed message ids.
var ErrInvalidArgument = errors.New("invalid argument")

// ErrConflict is matched (with errors.Is) by errors for duplicate label names.
var ErrConflict = errors.New("conflict")

// apiError is one Google JSON API error. It is both the Go error returned by
// the store and the body written to the wire.
type apiError struct {
	code         int
	message      string
	reason       string
	domain       string
	status       string
	location     string
	locationType string
	// retryAfter, when positive, is sent as a Retry-After header (seconds).
	retryAfter time.Duration
	details    []any
}

func (e *apiError) Error() string {
	return fmt.Sprintf("gmail %d %s: %s", e.code, e.reason, e.message)
}

// Is lets callers of the Go API match errors by kind.
func (e *apiError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.code == http.StatusNotFound
	case ErrInvalidArgument:
		return e.code == http.StatusBadRequest
	case ErrConflict:
		return e.code == http.StatusConflict
	}
	return false
}

// canonicalStatus maps an HTTP status to the google.rpc.Code name Google puts
// in the "status" field.
func canonicalStatus(code int) string {
	switch code {
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusConflict:
		return "ABORTED"
	case http.StatusPreconditionFailed:
		return "FAILED_PRECONDITION"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case http.StatusNotImplemented:
		return "UNIMPLEMENTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	default:
		if code >= 500 {
			return "INTERNAL"
		}
		return "UNKNOWN"
	}
}

// reasonDomain returns the "domain" Google uses for a reason.
func reasonDomain(reason string) string {
	switch reason {
	case "rateLimitExceeded", "userRateLimitExceeded", "dailyLimitExceeded", "quotaExceeded":
		return "usageLimits"
	}
	return "global"
}

// newAPIError builds an error with the canonical status and domain.
func newAPIError(code int, reason, message string) *apiError {
	return &apiError{
		code:    code,
		message: message,
		reason:  reason,
		domain:  reasonDomain(reason),
		status:  canonicalStatus(code),
	}
}

func errInvalid(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, "invalidArgument", fmt.Sprintf(format, args...))
}

func errNotFound() *apiError {
	return newAPIError(http.StatusNotFound, "notFound", "Requested entity was not found.")
}

func errInvalidLabel(id string) *apiError {
	return errInvalid("Invalid label: %s", id)
}

func errForbidden(message string) *apiError {
	return newAPIError(http.StatusForbidden, "forbidden", message)
}

func errInsufficientScope() *apiError {
	e := newAPIError(http.StatusForbidden, "insufficientPermissions", "Request had insufficient authentication scopes.")
	e.details = []any{map[string]any{
		"@type":  "type.googleapis.com/google.rpc.ErrorInfo",
		"reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
		"domain": "googleapis.com",
		"metadata": map[string]string{
			"service": "gmail.googleapis.com",
		},
	}}
	return e
}

func errInvalidCredentials() *apiError {
	e := newAPIError(http.StatusUnauthorized, "authError",
		"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.")
	e.location = "Authorization"
	e.locationType = "header"
	return e
}

// errMailServiceNotEnabled is what Gmail answers for an account without Gmail.
func errMailServiceNotEnabled() *apiError {
	e := newAPIError(http.StatusBadRequest, "failedPrecondition", "Mail service not enabled")
	e.status = "FAILED_PRECONDITION"
	return e
}

// errFromStatus builds the error an injected fault returns.
func errFromStatus(code int, reason string) *apiError {
	message := http.StatusText(code)
	switch {
	case reason == "userRateLimitExceeded":
		message = "User Rate Limit Exceeded"
	case reason == "rateLimitExceeded":
		message = "Rate Limit Exceeded"
	case code == http.StatusInternalServerError:
		message = "Backend Error"
	case code == http.StatusServiceUnavailable:
		message = "The service is currently unavailable."
	}
	if reason == "" {
		switch {
		case code == http.StatusTooManyRequests:
			reason = "rateLimitExceeded"
		case code >= 500:
			reason = "backendError"
		case code == http.StatusNotFound:
			reason = "notFound"
		case code == http.StatusForbidden:
			reason = "forbidden"
		case code == http.StatusUnauthorized:
			reason = "authError"
		default:
			reason = "invalidArgument"
		}
	}
	return newAPIError(code, reason, message)
}

type wireErrorItem struct {
	Message      string `json:"message"`
	Domain       string `json:"domain"`
	Reason       string `json:"reason"`
	Location     string `json:"location,omitempty"`
	LocationType string `json:"locationType,omitempty"`
}

type wireError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Errors  []wireErrorItem `json:"errors"`
	Status  string          `json:"status"`
	Details []any           `json:"details,omitempty"`
}

// writeError writes e in Google's error envelope.
func writeError(w http.ResponseWriter, e *apiError) {
	item := wireErrorItem{
		Message:      e.message,
		Domain:       e.domain,
		Reason:       e.reason,
		Location:     e.location,
		LocationType: e.locationType,
	}
	if e.reason == "authError" {
		// Gmail's item message is the short form; the top-level one is long.
		item.Message = "Invalid Credentials"
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
	}
	if e.reason == "insufficientPermissions" {
		item.Message = "Insufficient Permission"
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="insufficient_scope"`)
	}
	if e.retryAfter > 0 {
		secs := int64((e.retryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	body := map[string]wireError{"error": {
		Code:    e.code,
		Message: e.message,
		Errors:  []wireErrorItem{item},
		Status:  e.status,
		Details: e.details,
	}}
	writeJSON(w, e.code, body)
}

// writeJSON writes v as the JSON body with Google's content type.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value written here is built by this package; a failure is a bug.
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writeJSONBytes(w, code, b)
}

func writeJSONBytes(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
