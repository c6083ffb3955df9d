package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// HealthCheck is one recorded run of the health monitor.
type HealthCheck struct {
	ID        int64
	CheckedAt time.Time
	DBLatency time.Duration
	Queues    []QueueDepth
	Report    json.RawMessage
}

// HealthCheckRecord stores a health check and returns it with its id.
func (s *Store) HealthCheckRecord(ctx context.Context, latency time.Duration, queues []QueueDepth, report any) (HealthCheck, error) {
	rawQueues, err := json.Marshal(queues)
	if err != nil {
		return HealthCheck{}, fmt.Errorf("encoding queue depths: %w", err)
	}
	rawReport, err := json.Marshal(report)
	if err != nil {
		return HealthCheck{}, fmt.Errorf("encoding report: %w", err)
	}
	row, err := s.q.HealthCheckInsert(ctx, dbsqlc.HealthCheckInsertParams{DbLatencyUs: latency.Microseconds(), Queues: rawQueues, Report: rawReport})
	if err != nil {
		return HealthCheck{}, translate(err, "recording health check")
	}
	return HealthCheck{ID: row.ID, CheckedAt: row.CheckedAt, DBLatency: latency, Queues: queues, Report: row.Report}, nil
}

// HealthCheckLatest returns the newest health check.
func (s *Store) HealthCheckLatest(ctx context.Context) (HealthCheck, error) {
	row, err := s.q.HealthCheckLatest(ctx)
	if err != nil {
		return HealthCheck{}, translate(err, "reading latest health check")
	}
	hc := HealthCheck{ID: row.ID, CheckedAt: row.CheckedAt, DBLatency: time.Duration(row.DbLatencyUs) * time.Microsecond, Report: row.Report}
	if err := json.Unmarshal(row.Queues, &hc.Queues); err != nil {
		return HealthCheck{}, fmt.Errorf("decoding queue depths: %w", err)
	}
	return hc, nil
}

// HealthCheckPrune deletes health checks older than before.
func (s *Store) HealthCheckPrune(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.q.HealthCheckDeleteBefore(ctx, before)
	if err != nil {
		return 0, translate(err, "pruning health checks")
	}
	return n, nil
}
