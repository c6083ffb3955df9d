package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
)

type analyticsBody struct {
	From, To string
	Days     []struct {
		Day                          string
		Received, Unread, Classified int64
		Categories                   map[string]int64
	}
	Summary struct {
		Messages, Unread, Classified int64
		Coverage                     float64
	}
	Senders []struct {
		Rank     int
		Sender   string
		Messages int64
	}
	Accounts []struct {
		ID               int64
		Email            string
		SecondsSinceSync *int64 `json:"seconds_since_sync"`
	}
}

// runTask starts a task through the API as token and waits for it to
// complete.
func runTask(t *testing.T, s *inboxqtest.Stack, token, kind string) {
	t.Helper()
	var created struct{ ID int64 }
	r := s.Do(t, http.MethodPost, "/api/v1/tasks", token, map[string]any{"kind": kind})
	require.Contains(t, []int{http.StatusCreated, http.StatusOK}, r.Code, string(r.Body))
	r.JSON(t, &created)
	s.WaitTask(t, created.ID, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))
}

func TestAnalyticsScopedToTheCaller(t *testing.T) {
	t.Parallel()
	s, alice, bob, acct, _ := mailStack(t, 300)
	ctx := context.Background()

	// Before any rollup: zeros, every day of the range present.
	var got analyticsBody
	s.Do(t, http.MethodGet, "/api/v1/analytics?from=2026-10-01&to=2026-11-30", alice, nil).JSON(t, &got)
	require.Len(t, got.Days, 61)
	require.Zero(t, got.Summary.Messages)

	runTask(t, s, alice, "update_analytics")
	s.Do(t, http.MethodGet, "/api/v1/analytics?from=2026-10-01&to=2026-11-30", alice, nil).JSON(t, &got)
	want := map[string][2]int64{}
	rows, err := s.Schema.Pool.Query(ctx, `SELECT (internal_date AT TIME ZONE 'UTC')::date::text, count(*),
		count(*) FILTER (WHERE shown_category IS NOT NULL) FROM message WHERE account_id = $1 GROUP BY 1`, acct.ID)
	require.NoError(t, err)
	for rows.Next() {
		var day string
		var n, c int64
		require.NoError(t, rows.Scan(&day, &n, &c))
		want[day] = [2]int64{n, c}
	}
	require.NoError(t, rows.Err())
	var total, classified int64
	for _, d := range got.Days {
		require.Equal(t, want[d.Day], [2]int64{d.Received, d.Classified}, d.Day)
		var sum int64
		for _, n := range d.Categories {
			sum += n
		}
		require.Equal(t, d.Received, sum, "categories add up on %s", d.Day)
		total += d.Received
		classified += d.Classified
	}
	require.EqualValues(t, 300, total)
	require.EqualValues(t, 300, got.Summary.Messages)
	require.InDelta(t, float64(classified)/300, got.Summary.Coverage, 1e-9)
	require.NotEmpty(t, got.Senders)
	require.EqualValues(t, 60, got.Senders[0].Messages, "five senders, sixty each")
	require.Len(t, got.Accounts, 1)
	require.Equal(t, "alice@example.com", got.Accounts[0].Email)

	// Bob sees his own, not alice's; his rollup has not run yet.
	var bobs analyticsBody
	s.Do(t, http.MethodGet, "/api/v1/analytics?from=2026-10-01&to=2026-11-30", bob, nil).JSON(t, &bobs)
	require.Zero(t, bobs.Summary.Messages)
	require.Empty(t, bobs.Senders)
	require.Len(t, bobs.Accounts, 1)
	require.Equal(t, "bob@example.com", bobs.Accounts[0].Email)
	runTask(t, s, bob, "update_analytics")
	s.Do(t, http.MethodGet, "/api/v1/analytics?from=2026-10-01&to=2026-11-30", bob, nil).JSON(t, &bobs)
	require.EqualValues(t, 1, bobs.Summary.Messages)

	// Bad ranges are 422s.
	require.Equal(t, http.StatusUnprocessableEntity, s.Do(t, http.MethodGet, "/api/v1/analytics?from=2026-11-30&to=2026-10-01", alice, nil).Code)
	require.Equal(t, http.StatusUnprocessableEntity, s.Do(t, http.MethodGet, "/api/v1/analytics?from=2020-01-01&to=2026-10-01", alice, nil).Code)
	require.Equal(t, http.StatusUnprocessableEntity, s.Do(t, http.MethodGet, "/api/v1/analytics?from=yesterday", alice, nil).Code)
}

func TestSystemAnalyticsAdminsOnly(t *testing.T) {
	t.Parallel()
	s, alice, _, _, _ := mailStack(t, 10)
	_, root := s.User(t, "root", true)

	require.Equal(t, http.StatusForbidden, s.Do(t, http.MethodGet, "/api/v1/analytics/system", alice, nil).Code)
	// People cannot start the system rollup either.
	require.Equal(t, http.StatusForbidden, s.Do(t, http.MethodPost, "/api/v1/tasks", alice, map[string]any{"kind": "update_system_analytics"}).Code)

	runTask(t, s, alice, "update_analytics")
	runTask(t, s, root, "update_system_analytics")
	var got struct {
		Days []struct {
			Day       string
			Completed int64
		}
		Tasks []struct {
			Day, Kind string
			Completed int64
		}
		RolledAt *time.Time `json:"rolled_at"`
	}
	today := time.Now().UTC().Format(time.DateOnly)
	s.Do(t, http.MethodGet, "/api/v1/analytics/system", root, nil).JSON(t, &got)
	require.Len(t, got.Days, 30)
	require.Equal(t, today, got.Days[29].Day)
	require.NotNil(t, got.RolledAt)
	kinds := map[string]int64{}
	for _, k := range got.Tasks {
		kinds[k.Kind] += k.Completed
	}
	require.GreaterOrEqual(t, kinds["update_analytics"], int64(1), fmt.Sprint(kinds))
	require.GreaterOrEqual(t, got.Days[29].Completed, int64(1))
}
