package api

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/inboxq/inboxq/internal/auth"
	"github.com/inboxq/inboxq/internal/inbox"
)

// problem maps a domain error to an RFC 9457 problem: the one place where
// errors become HTTP status codes. A 5xx says "internal error"; the detail
// goes to the log.
func problem(ctx context.Context, logger *slog.Logger, err error) error {
	msg := detail(err)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, auth.ErrUnauthenticated):
		return huma.Error401Unauthorized(msg)
	case errors.Is(err, inbox.ErrNotFound):
		return huma.Error404NotFound(msg)
	case errors.Is(err, inbox.ErrConflict):
		return huma.Error409Conflict(msg)
	case errors.Is(err, inbox.ErrInvalid):
		var fe *inbox.FieldError
		if errors.As(err, &fe) {
			return huma.Error422UnprocessableEntity(msg, &huma.ErrorDetail{Location: fieldLocation(fe.Field), Message: fe.Msg})
		}
		return huma.Error422UnprocessableEntity(msg)
	case errors.Is(err, inbox.ErrForbidden):
		return huma.Error403Forbidden(msg)
	case errors.Is(err, inbox.ErrLimited):
		return limited(err, msg)
	case errors.Is(err, context.Canceled):
		return huma.NewError(499, "request cancelled")
	case errors.Is(err, inbox.ErrUnavailable):
		logger.WarnContext(ctx, "unavailable", slog.Any("err", err))
		return unavailable()
	}
	var se huma.StatusError
	if errors.As(err, &se) {
		return err
	}
	logger.ErrorContext(ctx, "internal_error", slog.Any("err", err))
	return huma.Error500InternalServerError("internal error")
}

// detail is the error's message without the sentinel's name at its end.
func detail(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	for _, s := range []error{inbox.ErrNotFound, inbox.ErrConflict, inbox.ErrInvalid, inbox.ErrForbidden} {
		msg = strings.TrimSuffix(msg, ": "+s.Error())
	}
	if errors.Is(err, inbox.ErrNotFound) {
		// Say what was not found, never why (it may be someone else's),
		// nor the step that looked ("getting task" → "task not found").
		what, _, _ := strings.Cut(msg, ":")
		words := strings.Fields(what)
		if len(words) > 1 && strings.HasSuffix(words[0], "ing") {
			words = words[1:]
		}
		return strings.Join(words, " ") + " not found"
	}
	return msg
}

// fieldLocation is where a domain error's field was in the request, in
// Huma's notation: list paging reads the query, everything else the body.
func fieldLocation(field string) string {
	switch {
	case field == "cursor" || field == "limit":
		return "query." + field
	case strings.HasPrefix(field, "path.") || strings.HasPrefix(field, "query.") || strings.HasPrefix(field, "body."):
		return field
	}
	return "body." + field
}

// limited is a 429 with Retry-After when waiting helps (RFC 6585).
func limited(err error, msg string) error {
	e := huma.NewError(http.StatusTooManyRequests, msg)
	var le *inbox.LimitError
	if errors.As(err, &le) && le.RetryAfter > 0 {
		secs := int(math.Ceil(le.RetryAfter.Seconds()))
		return huma.ErrorWithHeaders(e, http.Header{"Retry-After": {strconv.Itoa(secs)}})
	}
	return e
}

// unavailable is the 503 of an outage (the database unreachable or
// restarting): a client keeps its session and tries again.
func unavailable() error {
	return huma.ErrorWithHeaders(huma.Error503ServiceUnavailable("the service cannot reach its database right now; try again shortly"),
		http.Header{"Retry-After": {"5"}})
}
