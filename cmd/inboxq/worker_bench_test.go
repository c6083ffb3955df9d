package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/tasks"
)

// workerEnv is the environment of a worker process (this test binary run
// as `inboxq worker`) on schema s, with extra settings appended.
func workerEnv(b *testing.B, s inboxqtest.Schema, extra ...string) []string {
	return append([]string{"INBOXQ_HELPER=worker", "INBOXQ_HELPER_SCHEMA=" + s.Name, "INBOXQ_DATA_DIR=" + b.TempDir(),
		"DATABASE_URL=" + s.URL, "INBOXQ_LOG_LEVEL=warn", "INBOXQ_GOOGLE_CLIENT_ID=cid", "INBOXQ_GOOGLE_CLIENT_SECRET=csec"}, extra...)
}

// workerTask runs one task of kind with args in a fresh worker process with
// env and returns the finished task, its result, its own run time (from
// its start to its end, in the database's clock) and the process's peak
// RSS. The task must complete.
func workerTask[R any](b *testing.B, svc *tasks.Service, owner inbox.Principal, kind, args string, env []string) (inbox.Task, R, time.Duration, int64) {
	b.Helper()
	task, _, err := svc.Create(context.Background(), owner, tasks.CreateParams{Kind: kind, Args: json.RawMessage(args)})
	require.NoError(b, err)
	proc, _ := startHelper(b, env...)
	done := waitForTask(b, svc, owner, task.ID, 20*time.Minute)
	rss := stopForPeakRSS(b, proc)
	require.Equal(b, inbox.TaskCompleted, done.State, "%+v", done.Errors)
	var res R
	require.NoError(b, json.Unmarshal(done.Result, &res))
	return done, res, done.FinishedAt.Sub(*done.StartedAt), rss
}
