package inbox

import (
	"encoding/json"
	"time"
)

// Schedule is a recurring task: a cron expression in a time zone, and the
// task to start at each tick.
type Schedule struct {
	ID         int64
	OwnerID    *int64 // nil: built in
	Owner      string
	Name       string
	Cron       string
	Timezone   string
	Kind       string
	Args       json.RawMessage
	Priority   int
	Enabled    bool
	NextRunAt  *time.Time
	LastRunAt  *time.Time
	LastTaskID *int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Alert is something a person should know: raised by the health monitor
// (for admins) or by a task (for its owner).
type Alert struct {
	ID         int64
	UserID     *int64 // nil: for admins
	TaskID     *int64 // the task it is about, if any
	Key        string
	Severity   string
	Title      string
	Message    string
	CreatedAt  time.Time
	ResolvedAt *time.Time
	ReadAt     *time.Time
}

// Alert severities.
const (
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Queue is a queue's current load and recent throughput.
type Queue struct {
	Name                string
	Paused              bool
	PausedAt            *time.Time
	Available           int64
	Running             int64
	Scheduled           int64
	Retryable           int64
	Pending             int64
	OldestWait          time.Duration
	CompletedLastMinute int64
	CompletedLastHour   int64
	FailedLastHour      int64
}
