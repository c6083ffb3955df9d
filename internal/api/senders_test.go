package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
)

type apiSender struct {
	ID       int64  `json:"id"`
	Kind     string `json:"kind"`
	Sender   string `json:"sender"`
	Score    int    `json:"score"`
	Messages int    `json:"messages"`
}

// sendersScored waits for the update_sender_reputation tasks that
// classification started.
func sendersScored(t *testing.T, s *inboxqtest.Stack) {
	t.Helper()
	rows, err := s.Schema.Pool.Query(context.Background(), "SELECT id FROM river_job WHERE kind = 'update_sender_reputation'")
	require.NoError(t, err)
	var ids []int64
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, ids, "classification starts update_sender_reputation")
	for _, id := range ids {
		s.WaitTask(t, id, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	}
}

func TestSendersListSortsPagesExplainsAndIsScoped(t *testing.T) {
	t.Parallel()
	s, alice, bob, _, _ := mailStack(t, 45)
	sendersScored(t, s)

	list := func(who, query string) []apiSender {
		var all []apiSender
		path := "/api/v1/senders?limit=3" + query
		for pages := 0; ; pages++ {
			require.Less(t, pages, 10)
			r := s.Do(t, http.MethodGet, path, who, nil)
			require.Equal(t, http.StatusOK, r.Code, "%s", r.Body)
			var p struct {
				Senders    []apiSender `json:"senders"`
				NextCursor string      `json:"next_cursor"`
			}
			r.JSON(t, &p)
			all = append(all, p.Senders...)
			if p.NextCursor == "" {
				return all
			}
			path = "/api/v1/senders?limit=3" + query + "&cursor=" + url.QueryEscape(p.NextCursor)
		}
	}
	// Five addresses and five domains, each once, in score order.
	byScore := list(alice, "")
	require.Len(t, byScore, 10)
	seen := map[int64]bool{}
	for i, x := range byScore {
		require.False(t, seen[x.ID])
		seen[x.ID] = true
		if i > 0 {
			require.LessOrEqual(t, byScore[i-1].Score, x.Score)
		}
	}
	best := list(alice, "&sort=score_desc&kind=address")
	require.Len(t, best, 5)
	for i := 1; i < len(best); i++ {
		require.GreaterOrEqual(t, best[i-1].Score, best[i].Score)
	}
	score := map[string]int{}
	for _, x := range best {
		require.Equal(t, "address", x.Kind)
		require.Equal(t, 9, x.Messages)
		score[x.Sender] = x.Score
	}
	require.Greater(t, score["dana@example.org"], score["info@4f2a1winner.test"], "read mail beats unread")
	volume := list(alice, "&sort=volume&kind=domain")
	require.Len(t, volume, 5)

	// One sender, with its factors in words.
	var prize apiSender
	for _, x := range best {
		if x.Sender == "info@4f2a1winner.test" {
			prize = x
		}
	}
	r := s.Do(t, http.MethodGet, "/api/v1/senders/"+strconv.FormatInt(prize.ID, 10), alice, nil)
	require.Equal(t, http.StatusOK, r.Code, "%s", r.Body)
	var d struct {
		apiSender
		Read    int    `json:"read"`
		Leans   string `json:"leans"`
		Factors []struct {
			Name   string  `json:"name"`
			Points float64 `json:"points"`
			Says   string  `json:"says"`
		} `json:"factors"`
	}
	r.JSON(t, &d)
	require.Equal(t, "info@4f2a1winner.test", d.Sender)
	require.Zero(t, d.Read)
	require.Len(t, d.Factors, 7)
	require.Equal(t, "opened", d.Factors[1].Name)
	require.Equal(t, "You opened 0% of it (0 of 9).", d.Factors[1].Says)
	require.Negative(t, d.Factors[1].Points)
	require.Contains(t, []string{"spam", "none"}, d.Leans)

	// Scoped: bob sees only his own sender, and not alice's.
	require.Len(t, list(bob, ""), 2)
	r = s.Do(t, http.MethodGet, "/api/v1/senders/"+strconv.FormatInt(prize.ID, 10), bob, nil)
	require.Equal(t, http.StatusNotFound, r.Code)

	// A bad cursor is a 422.
	r = s.Do(t, http.MethodGet, "/api/v1/senders?cursor=nope", alice, nil)
	require.Equal(t, http.StatusUnprocessableEntity, r.Code)

	// "Always put this sender in ...": a rule through the rules API.
	r = s.Do(t, http.MethodPost, "/api/v1/classification/rules", alice, map[string]string{"sender": "4F2A1winner.test", "category": "spam"})
	require.Equal(t, http.StatusOK, r.Code, "%s", r.Body)
	var rule struct {
		Sender, Category string
	}
	r.JSON(t, &rule)
	require.Equal(t, "4f2a1winner.test", rule.Sender)
	require.Equal(t, "spam", rule.Category)
	r = s.Do(t, http.MethodPost, "/api/v1/classification/rules", alice, map[string]string{"sender": "not a sender", "category": "spam"})
	require.Equal(t, http.StatusUnprocessableEntity, r.Code, "%s", r.Body)
}
