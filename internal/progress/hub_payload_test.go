package progress_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/tasks"
)

// A payload the hub cannot read is dropped and logged: it is not a lost
// connection (which would mark the hub not ready and trigger a resync).
func TestUnreadablePayloadDoesNotLoseTheHub(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}})
	inboxqtest.WaitOrTimeout(t, s.Hub.Ready(), 10*time.Second)
	sub, _, _, _ := s.Hub.Subscribe(progress.Filter{Caller: inbox.Principal{Role: inbox.RoleAdmin}}, "")
	defer sub.Close()

	_, err := s.Schema.Pool.Exec(ctx, `SELECT pg_notify($1, 'not json')`, s.Schema.Name+".inboxq_events")
	require.NoError(t, err)
	u, _ := s.User(t, "u", false)
	task, _, err := s.Tasks.Create(ctx, u, tasks.CreateParams{Kind: "test_echo", Args: json.RawMessage(`{"message":"after"}`)})
	require.NoError(t, err)
	for seen := false; !seen; {
		batch := inboxqtest.WaitOrTimeout(t, sub.C, 10*time.Second)
		for _, ev := range batch {
			seen = seen || ev.TaskID() == task.ID
		}
	}
	require.True(t, s.Hub.Listening(), "the hub still listens and needs no resync")
}
