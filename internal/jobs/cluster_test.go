package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/account"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/tasks"
)

func (e *gmailEnv) cluster(t testing.TB) jobs.ClusterResult {
	t.Helper()
	task, _, err := e.Tasks.Create(context.Background(), e.user, tasks.CreateParams{Kind: "cluster_user_emails",
		Args: json.RawMessage(fmt.Sprintf(`{"account_id":%d}`, e.account.ID))})
	require.NoError(t, err)
	done := e.WaitTask(t, task.ID, 120*time.Second, inboxqtest.InState(inbox.TaskCompleted, inbox.TaskFailed))
	require.Equal(t, inbox.TaskCompleted, done.State, "%+v", done.Errors)
	var res jobs.ClusterResult
	require.NoError(t, json.Unmarshal(done.Result, &res))
	return res
}

// clusterRows returns the account's clusters: id → size, and the
// memberships message → cluster.
func (e *gmailEnv) clusterRows(t testing.TB) (map[string]int, map[string]string) {
	t.Helper()
	ctx := context.Background()
	sizes := map[string]int{}
	rows, err := e.Schema.Pool.Query(ctx, "SELECT id, size FROM message_cluster WHERE account_id = $1", e.account.ID)
	require.NoError(t, err)
	for rows.Next() {
		var id string
		var n int
		require.NoError(t, rows.Scan(&id, &n))
		sizes[id] = n
	}
	require.NoError(t, rows.Err())
	members := map[string]string{}
	rows, err = e.Schema.Pool.Query(ctx, "SELECT message_id, cluster_id FROM message_cluster_member WHERE account_id = $1", e.account.ID)
	require.NoError(t, err)
	for rows.Next() {
		var m, c string
		require.NoError(t, rows.Scan(&m, &c))
		members[m] = c
	}
	require.NoError(t, rows.Err())
	return sizes, members
}

func TestClusterUserEmailsStoresStableClustersAndARerunChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newGmailEnv(t, 1500, 1_000_000)
	env.synced(t)
	stored, err := env.Store.MessageCount(ctx, env.account.ID)
	require.NoError(t, err)

	res := env.cluster(t)
	require.EqualValues(t, stored, res.Scanned)
	require.Positive(t, res.Clusters)
	require.EqualValues(t, res.Clusters, res.Written)
	sizes, members := env.clusterRows(t)
	require.Len(t, sizes, res.Clusters)
	require.Len(t, members, int(res.Clustered))
	require.EqualValues(t, res.Clustered, res.Moved, "every membership is new")
	total := 0
	for _, n := range sizes {
		total += n
	}
	require.Equal(t, len(members), total, "sizes add up to the memberships")

	// The same mail again: nothing written, the same ids.
	var before time.Time
	require.NoError(t, env.Schema.Pool.QueryRow(ctx, "SELECT max(updated_at) FROM message_cluster").Scan(&before))
	again := env.cluster(t)
	require.Zero(t, again.Written)
	require.Zero(t, again.Deleted)
	require.Zero(t, again.Moved)
	sizes2, members2 := env.clusterRows(t)
	require.Equal(t, sizes, sizes2)
	require.Equal(t, members, members2)
	var after time.Time
	require.NoError(t, env.Schema.Pool.QueryRow(ctx, "SELECT max(updated_at) FROM message_cluster").Scan(&after))
	require.Equal(t, before, after)

	// A message gone: its cluster shrinks and keeps its id. The victim is
	// chosen the same way every run (a map's order is random, and a
	// message whose sender is split by subject templates, or that makes a
	// campaign, can change more than its own cluster): the first, in id
	// order, of a big one-sender cluster.
	keys := map[string]string{}
	rows, err := env.Schema.Pool.Query(ctx, "SELECT id, key FROM message_cluster")
	require.NoError(t, err)
	for rows.Next() {
		var id, key string
		require.NoError(t, rows.Scan(&id, &key))
		keys[id] = key
	}
	require.NoError(t, rows.Err())
	ids := make([]string, 0, len(members))
	for m := range members {
		ids = append(ids, m)
	}
	slices.Sort(ids)
	var victim, cid string
	for _, m := range ids {
		if c := members[m]; sizes[c] > 5 && strings.HasPrefix(keys[c], "from:") {
			victim, cid = m, c
			break
		}
	}
	require.NotEmpty(t, victim)
	_, err = env.Store.MessageDelete(ctx, env.account.ID, []string{victim})
	require.NoError(t, err)
	third := env.cluster(t)
	require.EqualValues(t, 1, third.Written)
	sizes3, _ := env.clusterRows(t)
	require.Equal(t, sizes[cid]-1, sizes3[cid])
}

func TestAClusterIsABulkTargetOfItsOwnerOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newGmailEnv(t, 1200, 1_000_000)
	env.synced(t)
	env.cluster(t)
	_, token := env.User(t, "alice", false)

	var list struct {
		Clusters []struct {
			ID       string   `json:"id"`
			Size     int      `json:"size"`
			Label    string   `json:"label"`
			Examples []string `json:"examples"`
		} `json:"clusters"`
		NextCursor string `json:"next_cursor"`
	}
	r := env.Do(t, http.MethodGet, "/api/v1/clusters?limit=3", token, nil)
	require.Equal(t, http.StatusOK, r.Code, "%s", r.Body)
	r.JSON(t, &list)
	require.Len(t, list.Clusters, 3)
	require.NotEmpty(t, list.NextCursor)
	require.GreaterOrEqual(t, list.Clusters[0].Size, list.Clusters[1].Size, "biggest first")
	require.NotEmpty(t, list.Clusters[0].Examples)
	require.NotEmpty(t, list.Clusters[0].Label)
	var page2 struct {
		Clusters []struct {
			ID string `json:"id"`
		} `json:"clusters"`
	}
	r = env.Do(t, http.MethodGet, "/api/v1/clusters?limit=3&cursor="+list.NextCursor, token, nil)
	require.Equal(t, http.StatusOK, r.Code, "%s", r.Body)
	r.JSON(t, &page2)
	require.NotEqual(t, list.Clusters[0].ID, page2.Clusters[0].ID)

	top := list.Clusters[0]
	var one struct {
		ID       string            `json:"id"`
		Size     int               `json:"size"`
		Messages []json.RawMessage `json:"messages"`
	}
	r = env.Do(t, http.MethodGet, "/api/v1/clusters/"+top.ID+"?limit=500", token, nil)
	require.Equal(t, http.StatusOK, r.Code, "%s", r.Body)
	r.JSON(t, &one)
	require.Len(t, one.Messages, min(top.Size, 500))

	// The preview (POST /accounts/{id}/messages/count) counts the cluster.
	preview := account.Service{Store: env.Store}
	count, err := preview.CountMessages(ctx, env.user.UserID, env.account.ID, jobs.BulkTarget{ClusterID: top.ID})
	require.NoError(t, err)
	require.EqualValues(t, top.Size, count)

	// Someone else sees none of it.
	mallory, other := env.User(t, "mallory", false)
	r = env.Do(t, http.MethodGet, "/api/v1/clusters/"+top.ID, other, nil)
	require.Equal(t, http.StatusNotFound, r.Code)
	r = env.Do(t, http.MethodGet, "/api/v1/clusters", other, nil)
	require.Equal(t, http.StatusOK, r.Code)
	require.JSONEq(t, `{"clusters":[]}`, string(r.Body))
	_, err = preview.CountMessages(ctx, mallory.UserID, env.account.ID, jobs.BulkTarget{ClusterID: top.ID})
	require.ErrorIs(t, err, inbox.ErrNotFound)
	r = env.Do(t, http.MethodGet, "/api/v1/clusters/not-an-id", token, nil)
	require.Equal(t, http.StatusNotFound, r.Code)
	// A cluster of another account is no target in this one.
	_, err = preview.CountMessages(ctx, env.user.UserID, env.account.ID, jobs.BulkTarget{ClusterID: "999." + top.ID[len(top.ID)-16:]})
	require.ErrorIs(t, err, inbox.ErrNotFound)

	// Archiving the cluster archives exactly its messages.
	task, err := env.bulk(t, "bulk_archive_emails", fmt.Sprintf(`"target":{"cluster_id":%q}`, top.ID))
	require.NoError(t, err)
	done := env.WaitTask(t, task.ID, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	var res jobs.BulkResult
	require.NoError(t, json.Unmarshal(done.Result, &res))
	require.EqualValues(t, top.Size, res.Messages)
	n, err := env.Store.MessageSelectCount(ctx, env.account.ID, jobs.BulkTarget{ClusterID: top.ID, Label: "INBOX"}.StoreTarget(time.Now()), "")
	require.NoError(t, err)
	require.Zero(t, n, "none of the cluster left in the inbox")

	// Mallory cannot start one on it: her task is refused.
	_, _, err = env.Tasks.Create(ctx, mallory, tasks.CreateParams{Kind: "bulk_archive_emails",
		Args: json.RawMessage(fmt.Sprintf(`{"account_id":%d,"target":{"cluster_id":%q}}`, env.account.ID, top.ID))})
	require.ErrorIs(t, err, inbox.ErrInvalid)
}
