package store

import (
	"context"
	"errors"
	"time"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

func isNotFound(err error) bool { return errors.Is(err, inbox.ErrNotFound) }

func alertFrom(a dbsqlc.Alert) inbox.Alert {
	return inbox.Alert{ID: a.ID, UserID: a.UserID, TaskID: a.TaskID, Key: a.Key, Severity: a.Severity, Title: a.Title,
		Message: a.Message, CreatedAt: a.CreatedAt, ResolvedAt: a.ResolvedAt, ReadAt: a.ReadAt}
}

// AlertRaise opens an alert unless one with its key is open. It returns the
// new alert and true, or false when the condition was already alerted.
func (s *Store) AlertRaise(ctx context.Context, a inbox.Alert) (inbox.Alert, bool, error) {
	row, err := s.q.AlertRaise(ctx, dbsqlc.AlertRaiseParams{UserID: a.UserID, Key: a.Key, Severity: a.Severity, Title: a.Title, Message: a.Message})
	if err != nil {
		if isNotFound(translate(err, "")) {
			return inbox.Alert{}, false, nil
		}
		return inbox.Alert{}, false, translate(err, "raising alert")
	}
	return alertFrom(row), true, nil
}

// AlertResolve closes the open alert with key, if any.
func (s *Store) AlertResolve(ctx context.Context, key string) (bool, error) {
	n, err := s.q.AlertResolve(ctx, key)
	return n > 0, translate(err, "resolving alert")
}

// AlertList lists the caller's alerts (admins also see system alerts).
func (s *Store) AlertList(ctx context.Context, p inbox.Principal, unreadOnly bool, beforeID int64, limit int) ([]inbox.Alert, error) {
	params := dbsqlc.AlertListParams{UserID: &p.UserID, IncludeAdmin: p.IsAdmin(), UnreadOnly: unreadOnly, MaxRows: int32(limit)}
	if beforeID > 0 {
		params.BeforeID = &beforeID
	}
	rows, err := s.q.AlertList(ctx, params)
	if err != nil {
		return nil, translate(err, "listing alerts")
	}
	out := make([]inbox.Alert, len(rows))
	for i, r := range rows {
		out[i] = alertFrom(r)
	}
	return out, nil
}

// AlertMarkRead marks the caller's alerts read; it returns how many changed.
func (s *Store) AlertMarkRead(ctx context.Context, p inbox.Principal, ids []int64) (int64, error) {
	n, err := s.q.AlertMarkRead(ctx, dbsqlc.AlertMarkReadParams{Ids: ids, UserID: &p.UserID, IncludeAdmin: p.IsAdmin()})
	return n, translate(err, "marking alerts read")
}

// AlertListSince lists alerts created since a time, oldest first.
func (s *Store) AlertListSince(ctx context.Context, since time.Time, limit int) ([]inbox.Alert, error) {
	rows, err := s.q.AlertListSince(ctx, dbsqlc.AlertListSinceParams{Since: since, MaxRows: int32(limit)})
	if err != nil {
		return nil, translate(err, "listing recent alerts")
	}
	out := make([]inbox.Alert, len(rows))
	for i, r := range rows {
		out[i] = alertFrom(r)
	}
	return out, nil
}
