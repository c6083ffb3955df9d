package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// Store runs inboxq's queries on a pool.
type Store struct {
	pool *pgxpool.Pool
	q    *dbsqlc.Queries
}

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, q: dbsqlc.New(pool)}
}

// Pool returns the underlying pool, for River and transactions.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping measures one round trip to the database.
func (s *Store) Ping(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if err := s.pool.Ping(ctx); err != nil {
		return 0, fmt.Errorf("pinging database: %w", err)
	}
	return time.Since(start), nil
}

// QueueDepth is the number of jobs of one queue in one state.
type QueueDepth struct {
	Queue             string  `json:"queue"`
	State             string  `json:"state"`
	Jobs              int64   `json:"jobs"`
	OldestWaitSeconds float64 `json:"oldest_wait_seconds"`
}

// QueueDepths counts unfinished jobs per queue and state.
func (s *Store) QueueDepths(ctx context.Context) ([]QueueDepth, error) {
	rows, err := s.q.QueueDepthList(ctx)
	if err != nil {
		return nil, fmt.Errorf("counting queue depths: %w", err)
	}
	out := make([]QueueDepth, len(rows))
	for i, r := range rows {
		out[i] = QueueDepth(r)
	}
	return out, nil
}

// HealthCheck is one recorded run of the health monitor.
type HealthCheck struct {
	ID        int64
	CheckedAt time.Time
	DBLatency time.Duration
	Queues    []QueueDepth
}

// HealthCheckRecord stores a health check and returns it with its id.
func (s *Store) HealthCheckRecord(ctx context.Context, latency time.Duration, queues []QueueDepth) (HealthCheck, error) {
	raw, err := json.Marshal(queues)
	if err != nil {
		return HealthCheck{}, fmt.Errorf("encoding queue depths: %w", err)
	}
	row, err := s.q.HealthCheckInsert(ctx, dbsqlc.HealthCheckInsertParams{DbLatencyUs: latency.Microseconds(), Queues: raw})
	if err != nil {
		return HealthCheck{}, fmt.Errorf("recording health check: %w", err)
	}
	return HealthCheck{ID: row.ID, CheckedAt: row.CheckedAt.Time, DBLatency: latency, Queues: queues}, nil
}

// HealthCheckPrune deletes health checks older than before.
func (s *Store) HealthCheckPrune(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.q.HealthCheckDeleteBefore(ctx, timestamptz(before))
	if err != nil {
		return 0, fmt.Errorf("pruning health checks: %w", err)
	}
	return n, nil
}
