package config_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/config"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(nil))
	require.NoError(t, err)
	require.Equal(t, config.DefaultDatabaseURL, c.DatabaseURL)
	require.True(t, c.DatabaseURLDefaulted)
	require.Equal(t, "127.0.0.1:8080", c.ListenAddr)
	require.Equal(t, 30*time.Second, c.ShutdownTimeout)
	require.Equal(t, slog.LevelInfo, c.LogLevel)
	require.Equal(t, "json", c.LogFormat)
	require.Equal(t, 20, c.DatabaseMaxConns)
	require.Equal(t, map[string]int{"sync": 10, "classify": 4, "bulk": 4, "maintenance": 2, "default": 10}, c.Workers)
	require.Equal(t, 10, c.StreamsPerUser)
	require.Equal(t, time.Hour, c.StreamMaxLife)
	require.Equal(t, 200, c.StreamSnapshotTasks)
}

func TestOverrides(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(map[string]string{
		"DATABASE_URL":                 "postgres://u:secret@db:5432/x",
		"INBOXQ_ADDR":                  ":9000",
		"INBOXQ_SHUTDOWN_TIMEOUT":      "5s",
		"INBOXQ_LOG_LEVEL":             "DEBUG",
		"INBOXQ_LOG_FORMAT":            "TEXT",
		"INBOXQ_WORKERS_BULK":          "7",
		"INBOXQ_STREAMS_PER_USER":      "3",
		"INBOXQ_STREAM_MAX_LIFE":       "10m",
		"INBOXQ_STREAM_SNAPSHOT_TASKS": "50",
	}))
	require.NoError(t, err)
	require.Equal(t, 3, c.StreamsPerUser)
	require.Equal(t, 10*time.Minute, c.StreamMaxLife)
	require.Equal(t, 50, c.StreamSnapshotTasks)
	require.False(t, c.DatabaseURLDefaulted)
	require.Equal(t, ":9000", c.ListenAddr)
	require.Equal(t, 5*time.Second, c.ShutdownTimeout)
	require.Equal(t, slog.LevelDebug, c.LogLevel)
	require.Equal(t, "text", c.LogFormat)
	require.Equal(t, 7, c.Workers["bulk"])
}

func TestEveryErrorAtOnce(t *testing.T) {
	t.Parallel()
	_, err := config.Load(env(map[string]string{
		"DATABASE_URL":                 "mysql://x",
		"INBOXQ_ADDR":                  "nope",
		"INBOXQ_SHUTDOWN_TIMEOUT":      "-1s",
		"INBOXQ_LOG_LEVEL":             "loud",
		"INBOXQ_LOG_FORMAT":            "xml",
		"INBOXQ_WORKERS_SYNC":          "0",
		"INBOXQ_DB_MAX_CONNS":          "1",
		"INBOXQ_STREAMS_PER_USER":      "0",
		"INBOXQ_STREAM_MAX_LIFE":       "1s",
		"INBOXQ_STREAM_SNAPSHOT_TASKS": "lots",
	}))
	require.Error(t, err)
	for _, name := range []string{"DATABASE_URL", "INBOXQ_ADDR", "INBOXQ_SHUTDOWN_TIMEOUT", "INBOXQ_LOG_LEVEL", "INBOXQ_LOG_FORMAT", "INBOXQ_WORKERS_SYNC", "INBOXQ_DB_MAX_CONNS",
		"INBOXQ_STREAMS_PER_USER", "INBOXQ_STREAM_MAX_LIFE", "INBOXQ_STREAM_SNAPSHOT_TASKS"} {
		require.ErrorContains(t, err, name)
	}
}

func TestSecretsAreMasked(t *testing.T) {
	t.Parallel()
	for _, url := range []string{"postgres://u:hunter2@db/x", "host=db user=u password=hunter2 dbname=x"} {
		c, err := config.Load(env(map[string]string{"DATABASE_URL": url}))
		require.NoError(t, err)
		var b strings.Builder
		slog.New(slog.NewTextHandler(&b, nil)).Info("starting", "config", c)
		require.NotContains(t, b.String(), "hunter2", url)
		require.Contains(t, b.String(), "xxxxx", url)
	}
}

func TestVarsDocumentEveryVariable(t *testing.T) {
	t.Parallel()
	// Every variable Load reads appears in Vars (which feeds the README).
	read := map[string]bool{}
	_, _ = config.Load(func(k string) string { read[k] = true; return "" })
	documented := map[string]bool{}
	for _, v := range config.Vars() {
		documented[v.Name] = true
	}
	require.Equal(t, read, documented, fmt.Sprint(config.Vars()))
}

func TestLLMIsOffByDefault(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(nil))
	require.NoError(t, err)
	require.False(t, c.LLM.Enabled())
	require.Equal(t, config.LLM{RequestsPerMinute: 60, TokensPerMinute: 100_000, UserTokensPerDay: 200_000}, c.LLM)
}

func TestLLMSettings(t *testing.T) {
	t.Parallel()
	c, err := config.Load(env(map[string]string{
		"INBOXQ_LLM_BASE_URL":            "http://localhost:11434/v1",
		"INBOXQ_LLM_MODEL":               "llama3.2",
		"INBOXQ_LLM_API_KEY":             "sk-hunter2",
		"INBOXQ_LLM_REQUESTS_PER_MINUTE": "500",
		"INBOXQ_LLM_TOKENS_PER_MINUTE":   "2000000",
		"INBOXQ_LLM_USER_TOKENS_PER_DAY": "50000",
	}))
	require.NoError(t, err)
	require.True(t, c.LLM.Enabled())
	require.Equal(t, config.LLM{
		BaseURL: "http://localhost:11434/v1", Model: "llama3.2", APIKey: "sk-hunter2",
		RequestsPerMinute: 500, TokensPerMinute: 2_000_000, UserTokensPerDay: 50_000,
	}, c.LLM)

	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("starting", "config", c)
	require.NotContains(t, b.String(), "hunter2")
	require.Contains(t, b.String(), "config.llm.api_key_set=true")
}

func TestLLMErrors(t *testing.T) {
	t.Parallel()
	_, err := config.Load(env(map[string]string{
		"INBOXQ_LLM_BASE_URL":            "localhost:11434",
		"INBOXQ_LLM_REQUESTS_PER_MINUTE": "0",
		"INBOXQ_LLM_TOKENS_PER_MINUTE":   "lots",
		"INBOXQ_LLM_USER_TOKENS_PER_DAY": "-5",
	}))
	require.Error(t, err)
	for _, want := range []string{
		"INBOXQ_LLM_BASE_URL: want an http:// or https:// URL",
		"INBOXQ_LLM_MODEL: required with INBOXQ_LLM_BASE_URL",
		"INBOXQ_LLM_REQUESTS_PER_MINUTE: want a whole number from 1 to 1000000",
		"INBOXQ_LLM_TOKENS_PER_MINUTE: want a whole number",
		"INBOXQ_LLM_USER_TOKENS_PER_DAY: want a whole number",
	} {
		require.ErrorContains(t, err, want)
	}

	_, err = config.Load(env(map[string]string{"INBOXQ_LLM_MODEL": "gpt-4o-mini"}))
	require.ErrorContains(t, err, "INBOXQ_LLM_BASE_URL: required with INBOXQ_LLM_MODEL")
}
