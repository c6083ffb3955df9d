package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/store"
)

// The workflow state rule exists twice: in SQL for the trigger's events
// (inboxq_workflow_state) and in Go for rows read whole. They must agree.
func TestWorkflowStateRuleAgreesWithTheDatabase(t *testing.T) {
	t.Parallel()
	tx := inboxqtest.TestTx(t)
	now := time.Now()
	for _, finished := range []*time.Time{nil, &now} {
		for _, cancelled := range []*time.Time{nil, &now} {
			for _, failed := range []int{0, 2} {
				for _, stepsCancelled := range []int{0, 1} {
					for _, started := range []bool{false, true} {
						var want string
						require.NoError(t, tx.QueryRow(context.Background(),
							"SELECT inboxq_workflow_state(0, $1, $2, $3, $4, $5)", failed, stepsCancelled, cancelled, finished, started).Scan(&want))
						got := store.WorkflowState(failed, stepsCancelled, cancelled, finished, started)
						require.Equal(t, inbox.TaskState(want), got, "failed=%d cancelled steps=%d cancelled=%v finished=%v started=%v",
							failed, stepsCancelled, cancelled != nil, finished != nil, started)
					}
				}
			}
		}
	}
}
