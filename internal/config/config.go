// Package config reads inboxq's configuration from the environment, once, into
// a typed Config with defaults and validation. It is the only package besides
// cmd that looks at environment variables.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/inboxq/inboxq/internal/inbox"
)

// DefaultDatabaseURL is used when DATABASE_URL is unset: the local server,
// database "inboxq", which is created on first start if missing.
const DefaultDatabaseURL = "postgres://127.0.0.1:5432/inboxq?sslmode=disable"

// Config is inboxq's whole configuration.
type Config struct {
	// DatabaseURL is the PostgreSQL connection string.
	DatabaseURL string
	// DatabaseURLDefaulted is true when DATABASE_URL was not set and the
	// local default is used; only then may inboxq create the database.
	DatabaseURLDefaulted bool
	// DatabaseMaxConns caps this process's connection pool.
	DatabaseMaxConns int
	// ListenAddr is the HTTP listen address of `inboxq serve`.
	ListenAddr string
	// Workers is the number of River workers per queue in this process.
	Workers map[string]int
	// ShutdownTimeout bounds the graceful stop: in-flight HTTP requests and
	// running jobs get this long before jobs are cancelled and handed back.
	ShutdownTimeout time.Duration
	// Retention is how long finished tasks stay visible.
	Retention time.Duration
	// LogLevel is the minimum level logged.
	LogLevel slog.Level
	// LogFormat is "json" or "text".
	LogFormat string

	// SecretKey holds the keys that seal OAuth tokens (base64, comma
	// separated, the first seals); empty: a development key under DataDir.
	SecretKey string
	// DataDir holds local state (the development key).
	DataDir string
	// Google OAuth client; without a client id inboxq runs in demo mode
	// against a built-in fake Gmail.
	GoogleClientID, GoogleClientSecret, GoogleRedirectURL string
	// GoogleAuthURL, GoogleTokenURL and GmailAPIURL override Google's
	// endpoints (to point at a fake Gmail).
	GoogleAuthURL, GoogleTokenURL, GmailAPIURL string
	// GmailUserQuota and GmailProjectQuota are Gmail's limits, units/minute.
	GmailUserQuota, GmailProjectQuota float64
	// DemoMessages is the size of the demo mailbox.
	DemoMessages int

	// UserCap is how many of one user's tasks may be ready or running in
	// one queue; 0: half the queue's workers in this process, at least 1.
	UserCap int
	// MaxQueuedTasks, TaskCreatesPerMinute and MaxSchedules are per-user
	// limits (0: none); ScheduleMinInterval is the shortest interval of a
	// user's schedule; RunAtHorizon how far ahead a task may be scheduled.
	MaxQueuedTasks, TaskCreatesPerMinute, MaxSchedules int
	ScheduleMinInterval, RunAtHorizon                  time.Duration

	// StreamsPerUser caps each user's open event streams in one process.
	StreamsPerUser int
	// StreamMaxLife is how long an event stream lasts before the server ends
	// it and the client reconnects (authenticating again).
	StreamMaxLife time.Duration
	// StreamSnapshotTasks caps the tasks an event stream sends on connect.
	StreamSnapshotTasks int

	// LLM is the optional LLM stage of classification (internal/llm); off
	// unless both its endpoint and its model are set.
	LLM LLM
}

// LLM configures the LLM stage of classification: an OpenAI-compatible
// endpoint and the deployment's budgets for it.
type LLM struct {
	// BaseURL is the endpoint's API root (https://api.openai.com/v1,
	// http://localhost:11434/v1 for Ollama); Model the model to ask.
	BaseURL, Model string
	// APIKey is the endpoint's bearer token (empty: none sent).
	APIKey string
	// RequestsPerMinute and TokensPerMinute cap the whole deployment;
	// UserTokensPerDay caps each user.
	RequestsPerMinute, TokensPerMinute, UserTokensPerDay int
}

// Enabled reports whether the LLM stage is on.
func (l LLM) Enabled() bool { return l.BaseURL != "" && l.Model != "" }

// QueueUserCap is the fair-share cap of a queue: UserCap, or half the
// queue's workers in this process (at least 1).
func (c Config) QueueUserCap(queue string) int {
	if c.UserCap > 0 {
		return c.UserCap
	}
	return max(1, c.Workers[queue]/2)
}

// Demo reports whether inboxq runs against its built-in fake Gmail.
func (c Config) Demo() bool { return c.GoogleClientID == "" }

// Var documents one environment variable; the README's table is built from
// the same facts.
type Var struct {
	Name, Default, Help string
}

// Vars lists every environment variable inboxq reads.
func Vars() []Var {
	vs := []Var{
		{"DATABASE_URL", "local server, database inboxq (created if missing)", "PostgreSQL connection string"},
		{"INBOXQ_DB_MAX_CONNS", "20", "connection pool size of this process"},
		{"INBOXQ_ADDR", "127.0.0.1:8080", "HTTP listen address of `serve`"},
		{"INBOXQ_SHUTDOWN_TIMEOUT", "30s", "how long running jobs and requests get to finish on SIGTERM"},
		{"INBOXQ_RETENTION", "168h", "how long finished tasks stay visible (and listed)"},
		{"INBOXQ_LOG_LEVEL", "info", "debug, info, warn or error"},
		{"INBOXQ_LOG_FORMAT", "json", "json or text"},
		{"INBOXQ_SECRET_KEY", "a development key in $INBOXQ_DATA_DIR/secret.key", "32-byte keys in base64, comma separated, that seal OAuth tokens; the first seals"},
		{"INBOXQ_DATA_DIR", ".data", "local state (the development key)"},
		{"INBOXQ_GOOGLE_CLIENT_ID", "(none: demo mode)", "Google OAuth client id; without it a built-in fake Gmail serves a demo mailbox"},
		{"INBOXQ_GOOGLE_CLIENT_SECRET", "", "Google OAuth client secret"},
		{"INBOXQ_GOOGLE_REDIRECT_URL", "http://INBOXQ_ADDR/api/v1/accounts/oauth/callback", "OAuth redirect URL registered with Google"},
		{"INBOXQ_GOOGLE_AUTH_URL", "Google's", "OAuth authorization endpoint"},
		{"INBOXQ_GOOGLE_TOKEN_URL", "Google's", "OAuth token endpoint"},
		{"INBOXQ_GMAIL_API_URL", "Google's", "Gmail API base URL"},
		{"INBOXQ_GMAIL_USER_QUOTA", "6000 (demo: 60000)", "Gmail quota units per minute per mailbox"},
		{"INBOXQ_GMAIL_PROJECT_QUOTA", "1200000", "Gmail quota units per minute for the project"},
		{"INBOXQ_DEMO_MESSAGES", "3000", "messages in the demo mailbox"},
		{"INBOXQ_USER_CAP", "half the queue's workers", "at most this many of one user's tasks ready or running per queue; the rest wait as pending, and users take turns"},
		{"INBOXQ_MAX_QUEUED_TASKS", "5000", "unfinished tasks per user (admins exempt; 0: no limit)"},
		{"INBOXQ_TASK_CREATE_RATE", "600", "tasks a user may start per minute (admins exempt; 0: no limit)"},
		{"INBOXQ_MAX_SCHEDULES", "50", "schedules per user (admins exempt; 0: no limit)"},
		{"INBOXQ_SCHEDULE_MIN_INTERVAL", "1m", "shortest interval of a user's schedule (admins exempt)"},
		{"INBOXQ_RUN_AT_HORIZON", "8760h", "how far ahead run_at may be"},
		{"INBOXQ_STREAMS_PER_USER", "10", "open event streams (SSE) per user in this process; more are refused with 429"},
		{"INBOXQ_STREAM_MAX_LIFE", "1h", "how long an event stream lasts before the server ends it and the client reconnects with a fresh token"},
		{"INBOXQ_STREAM_SNAPSHOT_TASKS", "200", "tasks an event stream's snapshot sends on connect, newest first"},
		{"INBOXQ_LLM_BASE_URL", "(none: LLM stage off)", "OpenAI-compatible API root (OpenAI, Ollama, vLLM) asked about the messages the local classifier is unsure of; needs INBOXQ_LLM_MODEL"},
		{"INBOXQ_LLM_MODEL", "(none)", "model name at INBOXQ_LLM_BASE_URL"},
		{"INBOXQ_LLM_API_KEY", "(none)", "bearer token for the LLM endpoint"},
		{"INBOXQ_LLM_REQUESTS_PER_MINUTE", "60", "LLM requests per minute for the whole deployment"},
		{"INBOXQ_LLM_TOKENS_PER_MINUTE", "100000", "LLM tokens per minute for the whole deployment"},
		{"INBOXQ_LLM_USER_TOKENS_PER_DAY", "200000", "LLM tokens per user per day"},
	}
	for _, q := range inbox.Queues() {
		vs = append(vs, Var{workersVar(q), strconv.Itoa(defaultWorkers[q]), "workers for the " + q + " queue in this process"})
	}
	return vs
}

var defaultWorkers = map[string]int{
	inbox.QueueSync:        10,
	inbox.QueueClassify:    4,
	inbox.QueueBulk:        4,
	inbox.QueueMaintenance: 2,
	inbox.QueueDefault:     10,
}

func workersVar(queue string) string { return "INBOXQ_WORKERS_" + strings.ToUpper(queue) }

// Load reads the configuration through getenv. It reports every invalid
// variable at once, each with the name to fix.
func Load(getenv func(string) string) (Config, error) {
	var errs []error
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}

	c := Config{
		DatabaseURL: get("DATABASE_URL", ""),
		ListenAddr:  get("INBOXQ_ADDR", "127.0.0.1:8080"),
		LogFormat:   strings.ToLower(get("INBOXQ_LOG_FORMAT", "json")),
		Workers:     map[string]int{},
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL, c.DatabaseURLDefaulted = DefaultDatabaseURL, true
	} else if strings.Contains(c.DatabaseURL, "://") {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			errs = append(errs, errors.New("DATABASE_URL: want a postgres:// URL or key=value settings"))
		}
	}
	if n, err := strconv.Atoi(get("INBOXQ_DB_MAX_CONNS", "20")); err != nil || n < 4 || n > 1000 {
		errs = append(errs, errors.New("INBOXQ_DB_MAX_CONNS: want a whole number from 4 to 1000"))
	} else {
		c.DatabaseMaxConns = n
	}
	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		errs = append(errs, fmt.Errorf("INBOXQ_ADDR: want host:port, got %q", c.ListenAddr))
	}

	d, err := time.ParseDuration(get("INBOXQ_SHUTDOWN_TIMEOUT", "30s"))
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("INBOXQ_SHUTDOWN_TIMEOUT: %w", err))
	case d <= 0:
		errs = append(errs, errors.New("INBOXQ_SHUTDOWN_TIMEOUT: must be positive"))
	}
	c.ShutdownTimeout = d

	if r, err := time.ParseDuration(get("INBOXQ_RETENTION", "168h")); err != nil || r < time.Minute {
		errs = append(errs, errors.New("INBOXQ_RETENTION: want a duration of at least 1m, such as 168h"))
	} else {
		c.Retention = r
	}
	if err := c.LogLevel.UnmarshalText([]byte(get("INBOXQ_LOG_LEVEL", "info"))); err != nil {
		errs = append(errs, errors.New("INBOXQ_LOG_LEVEL: want debug, info, warn or error"))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("INBOXQ_LOG_FORMAT: want json or text, got %q", c.LogFormat))
	}

	c.SecretKey = get("INBOXQ_SECRET_KEY", "")
	c.DataDir = get("INBOXQ_DATA_DIR", ".data")
	c.GoogleClientID = get("INBOXQ_GOOGLE_CLIENT_ID", "")
	c.GoogleClientSecret = get("INBOXQ_GOOGLE_CLIENT_SECRET", "")
	c.GoogleRedirectURL = get("INBOXQ_GOOGLE_REDIRECT_URL", "http://"+c.ListenAddr+"/api/v1/accounts/oauth/callback")
	c.GoogleAuthURL = get("INBOXQ_GOOGLE_AUTH_URL", "")
	c.GoogleTokenURL = get("INBOXQ_GOOGLE_TOKEN_URL", "")
	c.GmailAPIURL = get("INBOXQ_GMAIL_API_URL", "")
	if c.GoogleClientID != "" && c.GoogleClientSecret == "" {
		errs = append(errs, errors.New("INBOXQ_GOOGLE_CLIENT_SECRET: required with INBOXQ_GOOGLE_CLIENT_ID"))
	}
	defaultQuota := "6000"
	if c.Demo() {
		defaultQuota = "60000"
	}
	for _, q := range []struct {
		name, def string
		dst       *float64
	}{{"INBOXQ_GMAIL_USER_QUOTA", defaultQuota, &c.GmailUserQuota}, {"INBOXQ_GMAIL_PROJECT_QUOTA", "1200000", &c.GmailProjectQuota}} {
		v, err := strconv.ParseFloat(get(q.name, q.def), 64)
		if err != nil || v < 60 {
			errs = append(errs, fmt.Errorf("%s: want units per minute, at least 60", q.name))
			continue
		}
		*q.dst = v
	}
	if n, err := strconv.Atoi(get("INBOXQ_DEMO_MESSAGES", "3000")); err != nil || n < 1 || n > 1_000_000 {
		errs = append(errs, errors.New("INBOXQ_DEMO_MESSAGES: want 1 to 1000000"))
	} else {
		c.DemoMessages = n
	}

	for _, l := range []struct {
		name, def string
		dst       *int
	}{
		{"INBOXQ_USER_CAP", "0", &c.UserCap}, {"INBOXQ_MAX_QUEUED_TASKS", "5000", &c.MaxQueuedTasks},
		{"INBOXQ_TASK_CREATE_RATE", "600", &c.TaskCreatesPerMinute}, {"INBOXQ_MAX_SCHEDULES", "50", &c.MaxSchedules},
	} {
		n, err := strconv.Atoi(get(l.name, l.def))
		if err != nil || n < 0 || n > 10_000_000 {
			errs = append(errs, fmt.Errorf("%s: want a whole number from 0 to 10000000", l.name))
			continue
		}
		*l.dst = n
	}
	for _, l := range []struct {
		name, def string
		dst       *time.Duration
	}{{"INBOXQ_SCHEDULE_MIN_INTERVAL", "1m", &c.ScheduleMinInterval}, {"INBOXQ_RUN_AT_HORIZON", "8760h", &c.RunAtHorizon}} {
		d, err := time.ParseDuration(get(l.name, l.def))
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("%s: want a duration such as 1m or 8760h", l.name))
			continue
		}
		*l.dst = d
	}
	if n, err := strconv.Atoi(get("INBOXQ_STREAMS_PER_USER", "10")); err != nil || n < 1 || n > 100_000 {
		errs = append(errs, errors.New("INBOXQ_STREAMS_PER_USER: want a whole number from 1 to 100000"))
	} else {
		c.StreamsPerUser = n
	}
	if d, err := time.ParseDuration(get("INBOXQ_STREAM_MAX_LIFE", "1h")); err != nil || d < time.Minute {
		errs = append(errs, errors.New("INBOXQ_STREAM_MAX_LIFE: want a duration of at least 1m, such as 1h"))
	} else {
		c.StreamMaxLife = d
	}
	if n, err := strconv.Atoi(get("INBOXQ_STREAM_SNAPSHOT_TASKS", "200")); err != nil || n < 1 || n > 10_000 {
		errs = append(errs, errors.New("INBOXQ_STREAM_SNAPSHOT_TASKS: want a whole number from 1 to 10000"))
	} else {
		c.StreamSnapshotTasks = n
	}

	c.LLM, errs = loadLLM(get, errs)

	for _, q := range inbox.Queues() {
		name := workersVar(q)
		n, err := strconv.Atoi(get(name, strconv.Itoa(defaultWorkers[q])))
		if err != nil || n < 1 || n > 10_000 {
			errs = append(errs, fmt.Errorf("%s: want a whole number from 1 to 10000", name))
			continue
		}
		c.Workers[q] = n
	}
	return c, errors.Join(errs...)
}

// loadLLM reads the INBOXQ_LLM_ variables, appending what is wrong to errs.
func loadLLM(get func(name, def string) string, errs []error) (LLM, []error) {
	l := LLM{
		BaseURL: get("INBOXQ_LLM_BASE_URL", ""),
		Model:   get("INBOXQ_LLM_MODEL", ""),
		APIKey:  get("INBOXQ_LLM_API_KEY", ""),
	}
	if l.BaseURL != "" {
		if u, err := url.Parse(l.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("INBOXQ_LLM_BASE_URL: want an http:// or https:// URL such as https://api.openai.com/v1"))
		}
	}
	switch {
	case l.BaseURL != "" && l.Model == "":
		errs = append(errs, errors.New("INBOXQ_LLM_MODEL: required with INBOXQ_LLM_BASE_URL"))
	case l.BaseURL == "" && l.Model != "":
		errs = append(errs, errors.New("INBOXQ_LLM_BASE_URL: required with INBOXQ_LLM_MODEL"))
	}
	for _, n := range []struct {
		name, def string
		max       int
		dst       *int
	}{
		{"INBOXQ_LLM_REQUESTS_PER_MINUTE", "60", 1_000_000, &l.RequestsPerMinute},
		{"INBOXQ_LLM_TOKENS_PER_MINUTE", "100000", 1_000_000_000, &l.TokensPerMinute},
		{"INBOXQ_LLM_USER_TOKENS_PER_DAY", "200000", 1_000_000_000, &l.UserTokensPerDay},
	} {
		v, err := strconv.Atoi(get(n.name, n.def))
		if err != nil || v < 1 || v > n.max {
			errs = append(errs, fmt.Errorf("%s: want a whole number from 1 to %d", n.name, n.max))
			continue
		}
		*n.dst = v
	}
	return l, errs
}

// LogValue logs the configuration with the database password masked.
func (c Config) LogValue() slog.Value {
	workers := make([]any, 0, len(c.Workers))
	for _, q := range inbox.Queues() {
		workers = append(workers, slog.Int(q, c.Workers[q]))
	}
	return slog.GroupValue(
		slog.String("database_url", MaskURL(c.DatabaseURL)),
		slog.Int("db_max_conns", c.DatabaseMaxConns),
		slog.String("addr", c.ListenAddr),
		slog.Group("workers", workers...),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.Duration("retention", c.Retention),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("log_format", c.LogFormat),
		slog.Bool("secret_key_set", c.SecretKey != ""),
		slog.Bool("demo", c.Demo()),
		slog.String("google_client_id", c.GoogleClientID),
		slog.Bool("google_client_secret_set", c.GoogleClientSecret != ""),
		slog.Float64("gmail_user_quota", c.GmailUserQuota),
		slog.Int("streams_per_user", c.StreamsPerUser),
		slog.Duration("stream_max_life", c.StreamMaxLife),
		slog.Int("stream_snapshot_tasks", c.StreamSnapshotTasks),
		slog.Group("llm",
			slog.Bool("enabled", c.LLM.Enabled()),
			slog.String("base_url", MaskURL(c.LLM.BaseURL)),
			slog.String("model", c.LLM.Model),
			slog.Bool("api_key_set", c.LLM.APIKey != ""),
			slog.Int("requests_per_minute", c.LLM.RequestsPerMinute),
			slog.Int("tokens_per_minute", c.LLM.TokensPerMinute),
			slog.Int("user_tokens_per_day", c.LLM.UserTokensPerDay),
		),
	)
}

var dsnPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('[^']*'|\S+)`)

// MaskURL hides the password in a connection string, in URL or key=value form.
func MaskURL(raw string) string {
	if !strings.Contains(raw, "://") {
		return dsnPassword.ReplaceAllString(raw, "${1}xxxxx")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	return u.Redacted()
}
