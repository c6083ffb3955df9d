package store

import "context"

// QueueDepth is the number of jobs of one queue in one state.
type QueueDepth struct {
	Queue             string  `json:"queue" doc:"Queue name"`
	State             string  `json:"state" doc:"Job state: available (waiting for a worker), running, retryable (failed an attempt, will run again), scheduled (waiting for its time), pending (held back)"`
	Jobs              int64   `json:"jobs" doc:"Jobs in this queue and state"`
	OldestWaitSeconds float64 `json:"oldest_wait_seconds" doc:"Seconds the oldest available job has waited; 0 for other states"`
}

// QueueDepths counts unfinished jobs per queue and state.
func (s *Store) QueueDepths(ctx context.Context) ([]QueueDepth, error) {
	rows, err := s.q.QueueDepthList(ctx)
	if err != nil {
		return nil, translate(err, "counting queue depths")
	}
	out := make([]QueueDepth, len(rows))
	for i, r := range rows {
		out[i] = QueueDepth(r)
	}
	return out, nil
}
