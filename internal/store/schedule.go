package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

func scheduleFrom(s dbsqlc.Schedule, owner string) inbox.Schedule {
	return inbox.Schedule{
		ID: s.ID, OwnerID: s.OwnerID, Owner: owner, Name: s.Name, Cron: s.Cron, Timezone: s.Timezone,
		Kind: s.Kind, Args: json.RawMessage(s.Args), Priority: int(s.Priority), Enabled: s.Enabled,
		NextRunAt: s.NextRunAt, LastRunAt: s.LastRunAt, LastTaskID: s.LastTaskID,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	}
}

// ScheduleInsert stores a new schedule.
func (s *Store) ScheduleInsert(ctx context.Context, sc inbox.Schedule) (inbox.Schedule, error) {
	row, err := s.q.ScheduleInsert(ctx, dbsqlc.ScheduleInsertParams{
		OwnerID: sc.OwnerID, Name: sc.Name, Cron: sc.Cron, Timezone: sc.Timezone, Kind: sc.Kind,
		Args: sc.Args, Priority: int16(sc.Priority), Enabled: sc.Enabled, NextRunAt: sc.NextRunAt,
	})
	if err != nil {
		return inbox.Schedule{}, translate(err, "saving schedule")
	}
	return scheduleFrom(row, sc.Owner), nil
}

// ScheduleGet returns a schedule visible in the owner scope (nil: any).
func (s *Store) ScheduleGet(ctx context.Context, id int64, owner *int64) (inbox.Schedule, error) {
	row, err := s.q.ScheduleGet(ctx, dbsqlc.ScheduleGetParams{ID: id, OwnerID: owner})
	if err != nil {
		return inbox.Schedule{}, translate(err, "getting schedule")
	}
	return scheduleFrom(dbsqlc.Schedule{
		ID: row.ID, OwnerID: row.OwnerID, Name: row.Name, Cron: row.Cron, Timezone: row.Timezone, Kind: row.Kind,
		Args: row.Args, Priority: row.Priority, Enabled: row.Enabled, NextRunAt: row.NextRunAt, LastRunAt: row.LastRunAt,
		LastTaskID: row.LastTaskID, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt,
	}, row.OwnerName), nil
}

// ScheduleList lists schedules in the owner scope (nil: all).
func (s *Store) ScheduleList(ctx context.Context, owner *int64) ([]inbox.Schedule, error) {
	rows, err := s.q.ScheduleList(ctx, owner)
	if err != nil {
		return nil, translate(err, "listing schedules")
	}
	out := make([]inbox.Schedule, len(rows))
	for i, row := range rows {
		out[i] = scheduleFrom(dbsqlc.Schedule{
			ID: row.ID, OwnerID: row.OwnerID, Name: row.Name, Cron: row.Cron, Timezone: row.Timezone, Kind: row.Kind,
			Args: row.Args, Priority: row.Priority, Enabled: row.Enabled, NextRunAt: row.NextRunAt, LastRunAt: row.LastRunAt,
			LastTaskID: row.LastTaskID, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt,
		}, row.OwnerName)
	}
	return out, nil
}

// ScheduleUpdate saves a schedule's changeable fields.
func (s *Store) ScheduleUpdate(ctx context.Context, sc inbox.Schedule) (inbox.Schedule, error) {
	row, err := s.q.ScheduleUpdate(ctx, dbsqlc.ScheduleUpdateParams{
		ID: sc.ID, Name: sc.Name, Cron: sc.Cron, Timezone: sc.Timezone, Args: sc.Args,
		Priority: int16(sc.Priority), Enabled: sc.Enabled, NextRunAt: sc.NextRunAt,
	})
	if err != nil {
		return inbox.Schedule{}, translate(err, "updating schedule")
	}
	return scheduleFrom(row, sc.Owner), nil
}

// ScheduleDelete deletes a schedule visible in the owner scope.
func (s *Store) ScheduleDelete(ctx context.Context, id int64, owner *int64) error {
	n, err := s.q.ScheduleDelete(ctx, dbsqlc.ScheduleDeleteParams{ID: id, OwnerID: owner})
	if err != nil {
		return translate(err, "deleting schedule")
	}
	if n == 0 {
		return translate(errNoRows, "deleting schedule")
	}
	return nil
}

// ScheduleClaimDue locks up to limit due schedules (call inside InTx).
func (s *Store) ScheduleClaimDue(ctx context.Context, limit int) ([]inbox.Schedule, error) {
	rows, err := s.q.ScheduleClaimDue(ctx, int32(limit))
	if err != nil {
		return nil, translate(err, "claiming due schedules")
	}
	out := make([]inbox.Schedule, len(rows))
	for i, r := range rows {
		out[i] = scheduleFrom(r, "")
	}
	return out, nil
}

// ScheduleAdvance moves a claimed schedule from expected to next; false
// when another claimer already did.
func (s *Store) ScheduleAdvance(ctx context.Context, id int64, expected, next, ranAt time.Time, taskID *int64) (bool, error) {
	n, err := s.q.ScheduleAdvance(ctx, dbsqlc.ScheduleAdvanceParams{
		ID: id, ExpectedRunAt: &expected, NextRunAt: &next, RanAt: &ranAt, LastTaskID: taskID,
	})
	return n == 1, translate(err, "advancing schedule")
}

// ScheduleCount counts a user's schedules.
func (s *Store) ScheduleCount(ctx context.Context, owner int64) (int, error) {
	n, err := s.q.ScheduleCountByOwner(ctx, &owner)
	return int(n), translate(err, "counting schedules")
}
