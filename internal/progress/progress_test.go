package progress_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
)

// counter counts NOTIFYs on the schema's events channel.
func listen(t *testing.T, s inboxqtest.Schema) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.ConnectConfig(ctx, s.Pool.Config().ConnConfig.Copy())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	_, err = conn.Exec(ctx, `LISTEN "`+s.Name+`.inboxq_events"`)
	require.NoError(t, err)
	return conn
}

func drain(t *testing.T, conn *pgx.Conn, quiet time.Duration) []map[string]any {
	t.Helper()
	var out []map[string]any
	for {
		ctx, cancel := context.WithTimeout(context.Background(), quiet)
		n, err := conn.WaitForNotification(ctx)
		cancel()
		if err != nil {
			return out
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(n.Payload), &m))
		if m["t"] != "progresses" {
			out = append(out, m)
			continue
		}
		// A batch of progress events: each item is one.
		for _, item := range m["p"].([]any) {
			out = append(out, item.(map[string]any))
		}
	}
}

func insertJob(t *testing.T, s inboxqtest.Schema, owner int64) int64 {
	t.Helper()
	var id int64
	require.NoError(t, s.Pool.QueryRow(context.Background(), `INSERT INTO river_job (kind, args, queue, state, max_attempts, priority)
		VALUES ('k', jsonb_build_object('owner_id', $1::bigint), 'default', 'running', 1, 1) RETURNING id`, owner).Scan(&id))
	return id
}

func TestReporterCoalescesAndAlwaysWritesTheLatest(t *testing.T) {
	t.Parallel()
	s := inboxqtest.TestSchema(t)
	st := store.New(s.Pool)
	id := insertJob(t, s, 7)
	conn := listen(t, s)

	mw := &progress.Middleware{Store: st, Interval: 100 * time.Millisecond, Logger: inboxqtest.Logger(t)}
	row := jobRow(t, s, id)
	start := time.Now()
	err := mw.Work(context.Background(), row, func(ctx context.Context) error {
		r := progress.From(ctx)
		r.SetTotal(10_000)
		for range 10_000 {
			r.Add(1)
		}
		time.Sleep(250 * time.Millisecond)
		r.Stage("done", "all ten thousand")
		return nil
	})
	require.NoError(t, err)
	elapsed := time.Since(start)

	notes := drain(t, conn, 300*time.Millisecond)
	require.NotEmpty(t, notes)
	// At most one write per interval (plus the first and the final flush).
	require.LessOrEqual(t, len(notes), int(elapsed/(100*time.Millisecond))+2, "writes: %d in %s", len(notes), elapsed)
	last := notes[len(notes)-1]
	require.Equal(t, "progress", last["t"])
	require.EqualValues(t, 10_000, last["done"])
	require.EqualValues(t, 10_000, last["total"])
	require.Equal(t, "done", last["stage"])
	require.EqualValues(t, 7, last["owner"])

	p, err := st.ProgressGet(context.Background(), id)
	require.NoError(t, err)
	require.EqualValues(t, 10_000, p.Done)
	require.Equal(t, "all ten thousand", p.Message)

	// A later attempt continues from the saved progress.
	again := jobRow(t, s, id)
	again.AttemptedBy = []string{"one", "two"}
	require.NoError(t, mw.Work(context.Background(), again, func(ctx context.Context) error {
		r := progress.From(ctx)
		r.Add(5)
		require.EqualValues(t, 10_005, r.Current().Done)
		require.EqualValues(t, 10_000, *r.Current().Total)
		return nil
	}))
}

func TestRepeatedNumbersRaiseOneProgressEvent(t *testing.T) {
	t.Parallel()
	s := inboxqtest.TestSchema(t)
	st := store.New(s.Pool)
	id := insertJob(t, s, 7)
	conn := listen(t, s)

	mw := &progress.Middleware{Store: st, Interval: time.Millisecond, Logger: inboxqtest.Logger(t)}
	require.NoError(t, mw.Work(context.Background(), jobRow(t, s, id), func(ctx context.Context) error {
		r := progress.From(ctx)
		// A page fetch that reports where it is, twice, with nothing new
		// in between (the final flush would write the second).
		for range 2 {
			r.SetTotal(29)
			r.Set(3)
			r.Stage("fetching", "page 3")
			r.Flush(ctx)
		}
		return nil
	}))

	var progressNotes []map[string]any
	for _, n := range drain(t, conn, 300*time.Millisecond) {
		if n["t"] == "progress" {
			progressNotes = append(progressNotes, n)
		}
	}
	require.Len(t, progressNotes, 1, "the same numbers reported again show a client nothing new")
	require.EqualValues(t, 3, progressNotes[0]["done"])
}

func TestJobsWithoutReportsWriteNothing(t *testing.T) {
	t.Parallel()
	s := inboxqtest.TestSchema(t)
	id := insertJob(t, s, 7)
	mw := &progress.Middleware{Store: store.New(s.Pool), Logger: inboxqtest.Logger(t)}
	require.NoError(t, mw.Work(context.Background(), jobRow(t, s, id), func(ctx context.Context) error {
		require.NotNil(t, progress.From(ctx))
		return nil
	}))
	var n int
	require.NoError(t, s.Pool.QueryRow(context.Background(), "SELECT count(*) FROM task_progress").Scan(&n))
	require.Zero(t, n)
	// Outside a job, From is nil and its methods do nothing.
	var r *progress.Reporter = progress.From(context.Background())
	r.Add(1)
	r.Flush(context.Background())
	require.Zero(t, r.Current().Done)
}

func TestTriggerNotifiesEveryChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	conn := listen(t, s)
	var id int64
	require.NoError(t, s.Pool.QueryRow(ctx, `INSERT INTO river_job (kind, args, queue, state, max_attempts, priority)
		VALUES ('k', '{"owner_id": 3}', 'default', 'available', 2, 1) RETURNING id`).Scan(&id))
	// Updates that set neither state nor attempt (checkpoints, output,
	// priority) raise nothing.
	_, err := s.Pool.Exec(ctx, `UPDATE river_job SET priority = 2, metadata = '{"river:resumable_cursor": {"pages": 1}}' WHERE id = $1`, id)
	require.NoError(t, err)
	_, err = s.Pool.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now() WHERE id = $1`, id)
	require.NoError(t, err)
	// River's cancel of a running job sets state = state with the marker.
	_, err = s.Pool.Exec(ctx, `UPDATE river_job SET state = state, metadata = '{"cancel_attempted_at": "2026-01-01T00:00:00Z"}' WHERE id = $1`, id)
	require.NoError(t, err)
	_, err = s.Pool.Exec(ctx, `UPDATE river_job SET state = 'cancelled', finalized_at = now(),
		errors = ARRAY['{"attempt":1,"at":"2026-01-01T00:00:00Z","error":"stopped"}'::jsonb] WHERE id = $1`, id)
	require.NoError(t, err)

	notes := changes(t, drain(t, conn, 300*time.Millisecond))
	var states []string
	for _, n := range notes {
		require.EqualValues(t, "3", fmt.Sprint(n["owner"]))
		states = append(states, n["state"].(string))
	}
	require.Equal(t, []string{"pending", "running", "cancelling", "cancelled"}, states)
	require.Equal(t, "stopped", notes[3]["error"])
	require.Equal(t, true, notes[0]["created"])
}

// changes flattens grouped task notifications.
func changes(t *testing.T, notes []map[string]any) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, n := range notes {
		switch n["t"] {
		case "task":
			out = append(out, n)
		case "jobs":
			h := n["h"].(map[string]any)
			for _, id := range n["ids"].([]any) {
				c := map[string]any{"id": id}
				for k, v := range h {
					c[k] = v
				}
				if o, ok := h["owner"].(string); ok {
					c["owner"] = o
				}
				out = append(out, c)
			}
		default:
			t.Fatalf("unexpected notification %v", n)
		}
	}
	return out
}

// Task events carry the task state the database computed with
// inboxq_task_state, the one rule (Go maps no River state): for a job
// inserted in each case of the rule, and for a job moved into it.
func TestEventsCarryTheTaskStateOfTheRule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	conn := listen(t, s)
	cases := inboxqtest.TaskStateCases()
	inserted, updated := map[int64]inboxqtest.TaskStateCase{}, map[int64]inboxqtest.TaskStateCase{}
	for _, c := range cases {
		var id int64
		require.NoError(t, s.Pool.QueryRow(ctx, `INSERT INTO river_job (state, max_attempts, args, kind, metadata, errors, finalized_at)
			VALUES ($1::river_job_state, 5, '{}', 'test_state', $2::jsonb, `+c.Errors+`, CASE WHEN $3::bool THEN now() END)
			RETURNING id`, c.State, c.Metadata, c.Finalized).Scan(&id), c.Name)
		inserted[id] = c
		require.NoError(t, s.Pool.QueryRow(ctx, `INSERT INTO river_job (state, max_attempts, args, kind)
			VALUES ('scheduled', 5, '{}', 'test_state') RETURNING id`).Scan(&id))
		updated[id] = c
	}
	for id, c := range updated {
		_, err := s.Pool.Exec(ctx, `UPDATE river_job SET state = $2::river_job_state, metadata = $3::jsonb, errors = `+c.Errors+`,
			finalized_at = CASE WHEN $4::bool THEN now() END WHERE id = $1`, id, c.State, c.Metadata, c.Finalized)
		require.NoError(t, err, c.Name)
	}

	// Each job's last event is its case's task state; every inserted job's
	// first is (inserts announce "created").
	first, last := map[int64]map[string]any{}, map[int64]map[string]any{}
	deadline := time.Now().Add(30 * time.Second)
	for len(last) < len(inserted)+len(updated) || !allFinal(last, updated) {
		wctx, cancel := context.WithDeadline(ctx, deadline)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		require.NoError(t, err, "events seen for %d of %d jobs", len(last), len(inserted)+len(updated))
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(n.Payload), &m))
		if m["t"] != "task" && m["t"] != "jobs" {
			continue
		}
		for _, c := range changes(t, []map[string]any{m}) {
			id := int64(c["id"].(float64))
			if first[id] == nil {
				first[id] = c
			}
			last[id] = c
		}
	}
	for id, c := range inserted {
		require.Equal(t, string(c.Want), first[id]["state"], "inserted %s", c.Name)
		require.Equal(t, true, first[id]["created"], "inserted %s", c.Name)
	}
	for id, c := range updated {
		require.Equal(t, string(c.Want), last[id]["state"], "moved to %s", c.Name)
	}
}

// allFinal reports whether every moved job's latest event is no longer
// its starting state (scheduled), unless scheduled is where it was moved.
func allFinal(last map[int64]map[string]any, updated map[int64]inboxqtest.TaskStateCase) bool {
	for id, c := range updated {
		if e := last[id]; e == nil || (e["state"] == string(inbox.TaskScheduled) && c.Want != inbox.TaskScheduled) {
			return false
		}
	}
	return true
}

func TestTriggerBatchesLargeStatements(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	conn := listen(t, s)
	_, err := s.Pool.Exec(ctx, `INSERT INTO river_job (kind, args, queue, state, max_attempts, priority)
		SELECT 'k', jsonb_build_object('owner_id', 1 + g % 2), 'default', 'available', 1, 1 FROM generate_series(1, 2000) g`)
	require.NoError(t, err)
	_, err = s.Pool.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now()`)
	require.NoError(t, err)

	var payloads []string
	for {
		wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			break
		}
		require.Less(t, len(n.Payload), 8000, "under Postgres's payload limit")
		payloads = append(payloads, n.Payload)
	}
	var all []map[string]any
	for _, p := range payloads {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(p), &m))
		all = append(all, changes(t, []map[string]any{m})...)
	}
	require.Len(t, all, 4000, "every change, once")
	require.Less(t, len(payloads), 30, "grouped: %d notifications", len(payloads))
}

func TestHubFiltersReplaysAndDropsTheSlow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	st := store.New(s.Pool)
	hub := progress.NewHub(st, func(ctx context.Context) (*pgx.Conn, error) {
		return pgx.ConnectConfig(ctx, s.Pool.Config().ConnConfig.Copy())
	}, inboxqtest.Logger(t))
	hctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- hub.Run(hctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	inboxqtest.WaitOrTimeout(t, hub.Ready(), 10*time.Second)

	alice := inbox.Principal{UserID: 1, Role: inbox.RoleUser}
	bob := inbox.Principal{UserID: 2, Role: inbox.RoleUser}
	admin := inbox.Principal{UserID: 3, Role: inbox.RoleAdmin}
	subA, _, _, _ := hub.Subscribe(progress.Filter{Caller: alice}, "")
	subB, _, _, _ := hub.Subscribe(progress.Filter{Caller: bob}, "")
	subAdmin, _, _, _ := hub.Subscribe(progress.Filter{Caller: admin}, "")
	slow, _, _, _ := hub.Subscribe(progress.Filter{Caller: admin}, "")

	aJob := insertJob(t, s, 1)
	ev := inboxqtest.WaitOrTimeout(t, subA.C, 5*time.Second)[0]
	require.Equal(t, aJob, ev.TaskID())
	require.Equal(t, aJob, inboxqtest.WaitOrTimeout(t, subAdmin.C, 5*time.Second)[0].TaskID())
	select {
	case e := <-subB.C:
		t.Fatalf("bob got alice's event %+v", e)
	case <-time.After(200 * time.Millisecond):
	}

	// Replay: a subscriber that saw ev gets exactly what came after.
	bJob := insertJob(t, s, 2)
	require.Equal(t, bJob, inboxqtest.WaitOrTimeout(t, subB.C, 5*time.Second)[0].TaskID())
	_, replay, caughtUp, _ := hub.Subscribe(progress.Filter{Caller: admin}, ev.ID)
	require.True(t, caughtUp)
	require.Len(t, replay, 1)
	require.Equal(t, bJob, replay[0].TaskID())
	_, _, caughtUp, _ = hub.Subscribe(progress.Filter{Caller: admin}, "other-1")
	require.False(t, caughtUp, "unknown ids need a snapshot")

	// A burst of 400 changes in one statement arrives as one batch.
	_, err := s.Pool.Exec(ctx, `INSERT INTO river_job (kind, args, queue, state, max_attempts, priority)
		SELECT 'k', '{"owner_id": 1}', 'default', 'available', 1, 1 FROM generate_series(1, 400)`)
	require.NoError(t, err)
	got := 0
	for got < 400 {
		batch, ok := <-subA.C
		require.True(t, ok, "alice keeps up and is not dropped")
		got += len(batch)
	}
	require.Equal(t, 400, got)

	// The slow subscriber never reads: once its buffer is full it is
	// dropped, and nobody else waits for it.
	for range 70 {
		_, err := s.Pool.Exec(ctx, `INSERT INTO river_job (kind, args, queue, state, max_attempts, priority)
			VALUES ('k', '{"owner_id": 1}', 'default', 'available', 1, 1)`)
		require.NoError(t, err)
		inboxqtest.WaitOrTimeout(t, subA.C, 5*time.Second)
	}
	require.Eventually(t, slow.Dropped, 5*time.Second, 10*time.Millisecond)
	for range slow.C { // drains, then ends: the hub closed it
	}
}

func jobRow(t *testing.T, s inboxqtest.Schema, id int64) *rivertype.JobRow {
	t.Helper()
	var args []byte
	var kind string
	require.NoError(t, s.Pool.QueryRow(context.Background(), "SELECT args, kind FROM river_job WHERE id = $1", id).Scan(&args, &kind))
	return &rivertype.JobRow{ID: id, EncodedArgs: args, Kind: kind}
}

// A short task's last report rides on River's completion (metadata.progress):
// no task_progress row, no statement of its own, and still a progress event
// (done and total, carried by the completion's own notification) before the
// completion's, and the task read back shows all of it.
func TestShortTasksFinalProgressRidesOnTheCompletion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true, NoRiverUI: true})
	alice, _ := s.User(t, "alice", false)
	sub, _, _, _ := s.Hub.Subscribe(progress.Filter{Caller: alice}, "")
	defer sub.Close()
	task, _, err := s.Tasks.Create(ctx, alice, tasks.CreateParams{Kind: "test_steps", Args: json.RawMessage(`{"steps":3}`)})
	require.NoError(t, err)

	var seen []string
	var final *progress.ProgressChange
	deadline := time.After(15 * time.Second)
	for done := false; !done; {
		select {
		case batch := <-sub.C:
			for _, ev := range batch {
				switch {
				case ev.TaskID() != task.ID:
				case ev.Progress != nil:
					seen, final = append(seen, "progress"), ev.Progress
				case ev.Task != nil:
					seen = append(seen, string(ev.Task.State))
					done = done || ev.Task.State == inbox.TaskCompleted
				}
			}
		case <-deadline:
			t.Fatalf("the task did not complete; events %v", seen)
		}
	}
	require.NotNil(t, final, "a progress event; events %v", seen)
	require.EqualValues(t, 3, final.Done)
	require.EqualValues(t, 3, *final.Total)
	require.EqualValues(t, alice.UserID, *final.Owner)
	require.Equal(t, "stepping", final.Stage, "a report with words comes whole")
	require.Less(t, slices.Index(seen, "progress"), slices.Index(seen, string(inbox.TaskCompleted)), "progress before completion: %v", seen)

	_, err = s.Store.ProgressGet(ctx, task.ID)
	require.ErrorIs(t, err, inbox.ErrNotFound, "no task_progress row")
	got, err := s.Tasks.Get(ctx, alice, task.ID)
	require.NoError(t, err)
	require.NotNil(t, got.Progress)
	require.EqualValues(t, 3, got.Progress.Done)
	require.EqualValues(t, 3, *got.Progress.Total)
	require.Equal(t, "stepping", got.Progress.Stage)
	list, _, err := s.Tasks.List(ctx, alice, inbox.TaskFilter{}, "")
	require.NoError(t, err)
	require.NotEmpty(t, list)
	require.NotNil(t, list[0].Progress)
	require.EqualValues(t, 3, list[0].Progress.Done)
}

// Progress events are announced many to a notification, each under
// PostgreSQL's 8,000-byte payload limit, every one once, in job order.
func TestProgressEventsAreBatchedUnderThePayloadLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	st := store.New(s.Pool)
	conn := listen(t, s)
	var ups []store.ProgressUpdate
	owner := int64(3)
	for i := range 300 {
		// Messages at the cut (300 characters, some of them 3 bytes each).
		ups = append(ups, store.ProgressUpdate{JobID: int64(i + 1), Owner: &owner, Kind: "k",
			Progress: inbox.Progress{Done: int64(i), Stage: "s", Message: strings.Repeat("€", 150) + strings.Repeat("x", 200)}})
	}
	require.NoError(t, st.ProgressSave(ctx, ups...))
	var payloads int
	var ids []int64
	for {
		wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			break
		}
		payloads++
		require.Less(t, len(n.Payload), 8000, "under Postgres's payload limit")
		var batch struct {
			T string
			P []progress.ProgressChange
		}
		require.NoError(t, json.Unmarshal([]byte(n.Payload), &batch))
		require.Equal(t, "progresses", batch.T)
		for _, p := range batch.P {
			require.Len(t, []rune(p.Message), 300, "cut to 300 characters")
			ids = append(ids, p.ID)
		}
	}
	require.Len(t, ids, 300, "every report, once")
	require.True(t, slices.IsSorted(ids), "in job order")
	require.Greater(t, payloads, 1)
	require.Less(t, payloads, 100, "batched: %d notifications for 300 reports", payloads)
}

// The state events of finished attempts carry their final progress: a
// report of numbers only ([done, total], as store.FinalProgress writes it)
// by id in grouped notifications under the payload limit; a report with a
// stage or message whole, in the task's own event, as is one written
// before migration 0027 (an object); garbage never breaks the statement.
func TestStateEventsCarryFinalProgress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	conn := listen(t, s)
	_, err := s.Pool.Exec(ctx, `INSERT INTO river_job (kind, args, queue, state, max_attempts, priority, attempt, attempted_at)
		SELECT 'k', jsonb_build_object('owner_id', 1), 'default', 'running', 1, 1, 1, now() FROM generate_series(1, 1000)`)
	require.NoError(t, err)
	drain(t, conn, 300*time.Millisecond)
	_, err = s.Pool.Exec(ctx, `UPDATE river_job SET state = 'completed', finalized_at = now(),
		metadata = metadata || jsonb_build_object('progress', jsonb_build_array(id, CASE WHEN id % 2 = 0 THEN 2 * id END))
		WHERE id % 10 NOT IN (0, 5)`)
	require.NoError(t, err)
	_, err = s.Pool.Exec(ctx, `UPDATE river_job SET state = 'completed', finalized_at = now(),
		metadata = metadata || jsonb_build_object('progress', jsonb_build_object('done', id, 'stage', 'archiving', 'message', repeat('€', 300)))
		WHERE id % 10 = 5`)
	require.NoError(t, err)
	_, err = s.Pool.Exec(ctx, `UPDATE river_job SET state = 'completed', finalized_at = now(),
		metadata = metadata || jsonb_build_object('progress', jsonb_build_object('done', id, 'total', 2 * id)) WHERE id % 20 = 10`)
	require.NoError(t, err)
	_, err = s.Pool.Exec(ctx, `UPDATE river_job SET state = 'completed', finalized_at = now(),
		metadata = metadata || '{"progress":[1e300,"many"]}' WHERE id % 20 = 0`)
	require.NoError(t, err)

	got := map[int64][]*json.Number{}
	words := map[int64]progress.ProgressChange{}
	for {
		wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			break
		}
		require.Less(t, len(n.Payload), 8000, "under Postgres's payload limit")
		var m struct {
			T   string
			ID  int64
			IDs []int64
			P   json.RawMessage
		}
		require.NoError(t, json.Unmarshal([]byte(n.Payload), &m))
		if m.T == "task" {
			var p progress.ProgressChange
			require.NoError(t, json.Unmarshal(m.P, &p))
			words[m.ID] = p
			continue
		}
		require.Equal(t, "jobs", m.T)
		pairs := make([][]*json.Number, len(m.IDs))
		if len(m.P) > 0 {
			require.NoError(t, json.Unmarshal(m.P, &pairs))
		}
		require.Len(t, pairs, len(m.IDs))
		for i, id := range m.IDs {
			got[id] = pairs[i]
		}
	}
	require.Len(t, got, 850, "every job with a pair (or garbage), in grouped events")
	require.Len(t, words, 150, "every job with an object, in its own event")
	for id, p := range words {
		require.EqualValues(t, id, p.Done)
		if id%10 == 5 {
			require.Equal(t, "archiving", p.Stage)
			require.Len(t, []rune(p.Message), 300)
			continue
		}
		require.NotNil(t, p.Total, "an object of numbers (written before 0027)")
		require.EqualValues(t, 2*id, *p.Total)
	}
	for id, p := range got {
		if id%20 == 0 {
			require.Nil(t, p, "a report too long to be a pair is left out")
			continue
		}
		require.Len(t, p, 2)
		require.Equal(t, fmt.Sprint(id), p[0].String())
		if id%2 == 0 {
			require.Equal(t, fmt.Sprint(2*id), p[1].String())
		} else {
			require.Nil(t, p[1])
		}
	}
}

// Jobs starting are announced by a query of their own (migration 0033):
// their events are the ones any other change of the same rows to running
// gets, and a statement that starts some jobs and moves another elsewhere
// announces each as it is.
func TestStartsAreAnnouncedAsAnyChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	conn := listen(t, s)
	// One row of each kind of difference a group can have.
	rows := []string{
		`(0, 'k1', '{"owner_id": 1}', 'default', 1, '{}', 0, 1)`,
		`(1, 'k1', '{"owner_id": 1}', 'default', 1, '{}', 0, 1)`,
		`(2, 'k2', '{"owner_id": 1}', 'default', 1, '{}', 0, 1)`,
		`(3, 'k1', '{"owner_id": 2}', 'default', 1, '{}', 0, 1)`,
		`(4, 'k1', '{}', 'default', 1, '{}', 0, 1)`,
		`(5, 'k1', '{"owner_id": 1}', 'sync', 1, '{}', 0, 1)`,
		`(6, 'k1', '{"owner_id": 1}', 'default', 3, '{}', 0, 1)`,
		`(7, 'k1', '{"owner_id": 1}', 'default', 2, '{"priority": 4}', 0, 1)`,
		`(8, 'k1', '{"owner_id": 1}', 'default', 1, '{}', 2, 5)`,
		`(9, 'k1', '{"owner_id": 1}', 'default', 1, '{"cancel_attempted_at": "2026-01-01T00:00:00Z"}', 0, 1)`,
	}
	insert := func() (ids []int64) {
		r, err := s.Pool.Query(ctx, `INSERT INTO river_job (kind, args, queue, priority, metadata, attempt, max_attempts, state)
			SELECT kind, args::jsonb, queue, priority, metadata::jsonb, attempt, max_attempts, 'available'
			FROM (VALUES `+strings.Join(rows, ", ")+`) v (i, kind, args, queue, priority, metadata, attempt, max_attempts)
			ORDER BY i RETURNING id`)
		require.NoError(t, err)
		ids, err = pgx.CollectRows(r, pgx.RowTo[int64])
		require.NoError(t, err)
		slices.Sort(ids)
		return ids
	}
	started, moved := insert(), insert()
	other := insert()[0] // after the rest: not a statement's first row
	_, err := s.Pool.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = attempt + 1, attempted_at = now() WHERE id = ANY($1)`, started)
	require.NoError(t, err)
	_, err = s.Pool.Exec(ctx, `UPDATE river_job SET state = CASE WHEN id = $1 THEN 'scheduled' ELSE 'running' END::river_job_state,
		attempt = attempt + 1, attempted_at = now() WHERE id = ANY($2)`, other, append(slices.Clone(moved), other))
	require.NoError(t, err)

	byID := map[int64]map[string]any{}
	for _, c := range changes(t, drain(t, conn, 300*time.Millisecond)) {
		if c["created"] == true {
			continue
		}
		id := int64(c["id"].(float64))
		require.Nil(t, byID[id], "one event for job %d", id)
		delete(c, "id")
		delete(c, "at")
		byID[id] = c
	}
	require.Equal(t, "scheduled", byID[other]["state"], "a row not started is announced as it is")
	for i := range rows {
		require.NotNil(t, byID[started[i]], "row %d announced", i)
		require.Equal(t, byID[moved[i]], byID[started[i]], "row %d", i)
	}
	require.Equal(t, "cancelling", byID[started[len(rows)-1]]["state"])
	require.EqualValues(t, 4, byID[started[7]]["priority"])
	require.EqualValues(t, 3, byID[started[8]]["attempt"])
}
