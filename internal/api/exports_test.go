package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/api"
	"github.com/inboxq/inboxq/internal/exportdir"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
)

// exportStack is a stack with the export family whose handler serves the
// archives it writes.
func exportStack(t *testing.T) *inboxqtest.Stack {
	t.Helper()
	schema := inboxqtest.TestSchema(t)
	dir := t.TempDir()
	st := store.New(schema.Pool)
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true, Schema: &schema, NoRiverUI: true,
		Kinds: func(r *jobs.Registry) { jobs.RegisterExport(r, st, dir, inboxqtest.Logger(t)) }})
	s.Handler = api.NewHandler(api.Deps{Hub: s.Hub, Logger: inboxqtest.Logger(t), Version: "test", Tasks: s.Tasks, Auth: s.Auth,
		Ready: func(context.Context) error { return nil }, Exports: exportdir.Dir{Store: s.Store, Path: dir}})
	return s
}

func TestExportsDownloadOnlyForTheOwnerUntilExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := exportStack(t)
	alice, aliceTok := s.User(t, "alice", false)
	_, bobTok := s.User(t, "bob", false)
	acct, err := s.Store.AccountUpsert(ctx, alice.UserID, "alice@example.com", []string{})
	require.NoError(t, err)
	require.NoError(t, s.Store.MessageUpsert(ctx, acct.ID, []inbox.Message{{ID: "m1", ThreadID: "t1", Subject: "hi", Date: time.Now()}}))

	// Start an export through the API, as people do.
	r := s.Do(t, http.MethodPost, "/api/v1/tasks", aliceTok, map[string]any{"kind": "export_user_data"})
	require.Equal(t, http.StatusCreated, r.Code, "%s", r.Body)
	var task struct {
		ID int64 `json:"id"`
	}
	r.JSON(t, &task)
	s.WaitTask(t, task.ID, 30*time.Second, inboxqtest.InState(inbox.TaskCompleted))

	r = s.Do(t, http.MethodGet, "/api/v1/exports", aliceTok, nil)
	require.Equal(t, http.StatusOK, r.Code, "%s", r.Body)
	var list struct {
		Exports []api.Export `json:"exports"`
	}
	r.JSON(t, &list)
	require.Len(t, list.Exports, 1)
	e := list.Exports[0]
	require.Equal(t, task.ID, e.TaskID)
	require.Equal(t, "export", e.Kind)
	require.EqualValues(t, 1, e.Counts.Messages)
	require.Equal(t, fmt.Sprintf("/api/v1/exports/%d/download", e.ID), e.Download)
	require.NotNil(t, e.ExpiresAt)

	// The owner downloads the file; it is the archive the list describes.
	r = s.Do(t, http.MethodGet, e.Download, aliceTok, nil)
	require.Equal(t, http.StatusOK, r.Code, "%s", r.Body)
	require.Equal(t, "application/gzip", r.Header.Get("Content-Type"))
	require.Equal(t, fmt.Sprintf(`attachment; filename=inboxq-export-%s-%d.tar.gz`, e.CreatedAt.UTC().Format("2006-01-02"), e.ID), r.Header.Get("Content-Disposition"))
	require.EqualValues(t, e.Size, len(r.Body))
	sum := sha256.Sum256(r.Body)
	require.Equal(t, e.SHA256, hex.EncodeToString(sum[:]))
	require.Equal(t, `"`+e.SHA256+`"`, r.Header.Get("ETag"))

	// Ranges resume a broken download.
	req := httptest.NewRequest(http.MethodGet, e.Download, nil)
	req.Header.Set("Authorization", "Bearer "+aliceTok)
	req.Header.Set("Range", "bytes=10-19")
	rec := httptest.NewRecorder()
	s.Handler.ServeHTTP(rec, req)
	require.Equal(t, http.StatusPartialContent, rec.Code)
	require.Equal(t, r.Body[10:20], rec.Body.Bytes())

	// Another user's archive, or none, is a 404; no token is a 401.
	p := problemOf(t, s.Do(t, http.MethodGet, e.Download, bobTok, nil), http.StatusNotFound)
	require.Equal(t, fmt.Sprintf("export %d not found", e.ID), p.Detail)
	problemOf(t, s.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/exports/%d/download", e.ID+100), aliceTok, nil), http.StatusNotFound)
	problemOf(t, s.Do(t, http.MethodGet, e.Download, "", nil), http.StatusUnauthorized)
	r = s.Do(t, http.MethodGet, "/api/v1/exports", bobTok, nil)
	require.Equal(t, http.StatusOK, r.Code)
	require.JSONEq(t, `[]`, string(mustField(t, r.Body, "exports")))

	// Expired: gone, and no longer listed.
	_, err = s.Schema.Pool.Exec(ctx, "UPDATE export SET expires_at = now() - interval '1 second' WHERE id = $1", e.ID)
	require.NoError(t, err)
	p = problemOf(t, s.Do(t, http.MethodGet, e.Download, aliceTok, nil), http.StatusGone)
	require.Contains(t, p.Detail, "expired")
	problemOf(t, s.Do(t, http.MethodGet, e.Download, bobTok, nil), http.StatusNotFound)
	r = s.Do(t, http.MethodGet, "/api/v1/exports", aliceTok, nil)
	require.JSONEq(t, `[]`, string(mustField(t, r.Body, "exports")))
}

func mustField(t *testing.T, body []byte, name string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &m))
	return m[name]
}

func TestExportOperationsAreDocumented(t *testing.T) {
	t.Parallel()
	reg := jobs.NewRegistry()
	jobs.RegisterExport(reg, nil, "", nil)
	doc, err := api.OpenAPI("test", tasks.NewService(nil, nil, reg, nil))
	require.NoError(t, err)
	var d struct {
		Paths map[string]map[string]struct {
			OperationID string                                `json:"operationId"`
			Responses   map[string]map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(doc, &d))
	require.Equal(t, "list-exports", d.Paths["/api/v1/exports"]["get"].OperationID)
	dl := d.Paths["/api/v1/exports/{id}/download"]["get"]
	require.Equal(t, "download-export", dl.OperationID)
	require.Contains(t, string(dl.Responses["200"]["content"]), "application/gzip")
	require.Contains(t, dl.Responses, "410")
	require.Contains(t, string(doc), `"export_user_data"`)
	require.Contains(t, string(doc), `"backup_user_data"`)
}
