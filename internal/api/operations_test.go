package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/api"
	"github.com/inboxq/inboxq/internal/classify"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/tasks"
)

func TestSchedulesThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}})
	_, alice := s.User(t, "alice", false)

	p := problemOf(t, s.Do(t, http.MethodPost, "/api/v1/schedules", alice, map[string]any{
		"name": "x", "cron": "61 * * * *", "kind": "test_echo", "args": map[string]any{"message": "m"},
	}), http.StatusUnprocessableEntity)
	require.Contains(t, p.Detail, "cron")
	p = problemOf(t, s.Do(t, http.MethodPost, "/api/v1/schedules", alice, map[string]any{
		"name": "x", "cron": "0 * * * *", "timezone": "Nowhere/Else", "kind": "test_echo", "args": map[string]any{"message": "m"},
	}), http.StatusUnprocessableEntity)
	require.Contains(t, p.Detail, "timezone")
	p = problemOf(t, s.Do(t, http.MethodPost, "/api/v1/schedules", alice, map[string]any{
		"cron": "0 * * * *", "kind": "test_echo", "args": map[string]any{"count": 50},
	}), http.StatusUnprocessableEntity)
	require.GreaterOrEqual(t, len(p.Errors), 2, "name missing, message missing, count too big: %+v", p.Errors)

	r := s.Do(t, http.MethodPost, "/api/v1/schedules", alice, map[string]any{
		"name": "hourly echo", "cron": "0 * * * *", "timezone": "Asia/Kolkata", "kind": "test_echo", "args": map[string]any{"message": "m"}, "priority": 3,
	})
	require.Equal(t, http.StatusCreated, r.Code, "%s", r.Body)
	var sc struct {
		ID        int64     `json:"id"`
		Owner     string    `json:"owner"`
		Enabled   bool      `json:"enabled"`
		Priority  int       `json:"priority"`
		NextRunAt time.Time `json:"next_run_at"`
		Cron      string    `json:"cron"`
	}
	r.JSON(t, &sc)
	require.Equal(t, "alice", sc.Owner)
	require.True(t, sc.Enabled)
	require.Equal(t, 3, sc.Priority)
	require.Equal(t, 30, sc.NextRunAt.Minute(), "on the hour in India is half past in UTC")

	path := fmt.Sprintf("/api/v1/schedules/%d", sc.ID)
	problemOf(t, s.Do(t, http.MethodPatch, path, alice, map[string]any{"args": map[string]any{"message": ""}}), http.StatusUnprocessableEntity)
	problemOf(t, s.Do(t, http.MethodPatch, path, alice, map[string]any{"cron": "nonsense"}), http.StatusUnprocessableEntity)
	r = s.Do(t, http.MethodPatch, path, alice, map[string]any{"cron": "*/10 * * * *", "args": map[string]any{"message": "new"}})
	require.Equal(t, http.StatusOK, r.Code, "%s", r.Body)
	r.JSON(t, &sc)
	require.Equal(t, "*/10 * * * *", sc.Cron)
	require.Zero(t, sc.NextRunAt.Minute()%10)

	require.Equal(t, http.StatusNoContent, s.Do(t, http.MethodDelete, path, alice, nil).Code)
	problemOf(t, s.Do(t, http.MethodGet, path, alice, nil), http.StatusNotFound)
}

func TestAlertsAndSystemHealth(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true})
	_, alice := s.User(t, "alice", false)
	_, root := s.User(t, "root", true)

	problemOf(t, s.Do(t, http.MethodGet, "/api/v1/system/health", alice, nil), http.StatusForbidden)
	problemOf(t, s.Do(t, http.MethodGet, "/api/v1/system/health", root, nil), http.StatusNotFound)

	// An admin runs the health monitor with a queue that is backed up. The
	// stuck attempt started 45 minutes ago: stuck for the monitor (over 30
	// minutes), and not yet old enough for River's rescuer (an hour), which
	// would otherwise discard it first whenever the leader's rescuer runs
	// before the monitor.
	_, err := s.Schema.Pool.Exec(t.Context(), `INSERT INTO river_job (kind, args, queue, state, scheduled_at, max_attempts, priority)
		VALUES ('x', '{}', 'nowhere', 'running', now() - interval '1 day', 1, 1)`)
	require.NoError(t, err)
	_, err = s.Schema.Pool.Exec(t.Context(), `UPDATE river_job SET attempted_at = now() - interval '45 minutes', attempt = 1 WHERE kind = 'x'`)
	require.NoError(t, err)
	task := create(t, s, root, map[string]any{"kind": "monitor_system_health"})
	s.WaitTask(t, task.ID, 10*time.Second, inboxqtest.InState("completed"))

	var health struct {
		DBLatencyMS float64        `json:"db_latency_ms"`
		Report      map[string]any `json:"report"`
	}
	s.Do(t, http.MethodGet, "/api/v1/system/health", root, nil).JSON(t, &health)
	require.Positive(t, health.DBLatencyMS)
	require.EqualValues(t, 1, health.Report["stuck_jobs"])

	var alerts struct {
		Alerts []struct {
			ID     int64  `json:"id"`
			Title  string `json:"title"`
			System bool   `json:"system"`
		} `json:"alerts"`
	}
	s.Do(t, http.MethodGet, "/api/v1/alerts", alice, nil).JSON(t, &alerts)
	require.Empty(t, alerts.Alerts, "system alerts are for admins")
	s.Do(t, http.MethodGet, "/api/v1/alerts?unread=true", root, nil).JSON(t, &alerts)
	require.Len(t, alerts.Alerts, 1)
	require.True(t, alerts.Alerts[0].System)
	require.Equal(t, "Jobs appear stuck", alerts.Alerts[0].Title)

	var marked struct {
		Marked int64 `json:"marked"`
	}
	s.Do(t, http.MethodPost, "/api/v1/alerts/read", alice, map[string]any{"ids": []int64{alerts.Alerts[0].ID}}).JSON(t, &marked)
	require.Zero(t, marked.Marked, "alice cannot mark an admin alert")
	s.Do(t, http.MethodPost, "/api/v1/alerts/read", root, map[string]any{"ids": []int64{alerts.Alerts[0].ID}}).JSON(t, &marked)
	require.EqualValues(t, 1, marked.Marked)
	s.Do(t, http.MethodGet, "/api/v1/alerts?unread=true", root, nil).JSON(t, &alerts)
	require.Empty(t, alerts.Alerts)
}

func TestRiverUIAndMetricsAreForAdmins(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true})
	_, alice := s.User(t, "alice", false)
	_, root := s.User(t, "root", true)
	create(t, s, alice, map[string]any{"kind": "test_echo", "args": map[string]any{"message": "count me"}})

	for _, path := range []string{"/riverui/", "/riverui/api/jobs?state=available", "/metrics"} {
		require.Equal(t, http.StatusUnauthorized, s.Do(t, http.MethodGet, path, "", nil).Code, path)
		require.Equal(t, http.StatusForbidden, s.Do(t, http.MethodGet, path, alice, nil).Code, path)
		r := s.Do(t, http.MethodGet, path, root, nil)
		require.Equal(t, http.StatusOK, r.Code, path)
	}
	// Browsers reach River UI with Basic auth: any user name, the token as password.
	req := httptest.NewRequest(http.MethodGet, "/riverui/api/queues", nil)
	req.SetBasicAuth("root", root)
	rec := httptest.NewRecorder()
	s.Handler.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	unauth := s.Do(t, http.MethodGet, "/riverui/", "", nil)
	require.Contains(t, unauth.Header.Get("WWW-Authenticate"), "Basic")

	require.Eventually(t, func() bool {
		m := string(s.Do(t, http.MethodGet, "/metrics", root, nil).Body)
		return strings.Contains(m, `inboxq_tasks{kind="test_echo",queue="default",state="completed"} 1`) &&
			strings.Contains(m, `inboxq_queue_paused{queue="default"} 0`) &&
			strings.Contains(m, "inboxq_database_up 1")
	}, 10*time.Second, 50*time.Millisecond)
}

func TestOpenAPIDocumentsEveryKindAndOperation(t *testing.T) {
	t.Parallel()
	reg := jobs.NewRegistry()
	jobs.RegisterMaintenance(reg, nil, jobs.DefaultHealthThresholds(), "")
	inboxqtest.RegisterTestKinds(reg)
	raw, err := api.OpenAPI("test", tasks.NewService(nil, nil, reg, nil))
	require.NoError(t, err)
	var doc struct {
		OpenAPI    string `json:"openapi"`
		Components struct {
			Schemas         map[string]map[string]any `json:"schemas"`
			SecuritySchemes map[string]any            `json:"securitySchemes"`
		} `json:"components"`
		Paths map[string]map[string]struct {
			OperationID string           `json:"operationId"`
			Security    []map[string]any `json:"security"`
			RequestBody struct {
				Content map[string]struct {
					Schema struct {
						Ref string `json:"$ref"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.Equal(t, "3.1.0", doc.OpenAPI)
	require.Contains(t, doc.Components.SecuritySchemes, "bearer")

	// Each kind's args are a typed, closed schema; the owner is never exposed.
	echo := doc.Components.Schemas["EchoArgs"]
	require.NotNil(t, echo)
	require.Equal(t, false, echo["additionalProperties"])
	props := echo["properties"].(map[string]any)
	require.Contains(t, props, "message")
	require.NotContains(t, props, "owner_id")
	require.Contains(t, doc.Components.Schemas, "MonitorSystemHealthArgs")

	// The body is a union over the kinds, as a component (a union inline in
	// a body loses its JSON encoding in some generated clients).
	create := doc.Paths["/api/v1/tasks"]["post"]
	require.Equal(t, "#/components/schemas/CreateTaskRequest", create.RequestBody.Content["application/json"].Schema.Ref)
	require.NotContains(t, create.RequestBody.Content, "application/octet-stream")
	var union struct {
		OneOf         []map[string]string `json:"oneOf"`
		Discriminator struct {
			PropertyName string            `json:"propertyName"`
			Mapping      map[string]string `json:"mapping"`
		} `json:"discriminator"`
	}
	rawUnion, err := json.Marshal(doc.Components.Schemas["CreateTaskRequest"])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(rawUnion, &union))
	require.Len(t, union.OneOf, 8, "the maintenance family (health, token cleanup, analytics × 2) and the test kinds")
	require.Equal(t, "kind", union.Discriminator.PropertyName)
	require.Equal(t, "#/components/schemas/CreateTestEcho", union.Discriminator.Mapping["test_echo"])
	require.Equal(t, "#/components/schemas/CreateScheduleRequest",
		doc.Paths["/api/v1/schedules"]["post"].RequestBody.Content["application/json"].Schema.Ref)

	ids := map[string]bool{}
	for path, methods := range doc.Paths {
		for method, op := range methods {
			require.NotEmpty(t, op.OperationID, "%s %s", method, path)
			require.False(t, ids[op.OperationID], "operation id %s twice", op.OperationID)
			ids[op.OperationID] = true
			// Google's OAuth redirect is the one API path a browser reaches
			// without a token; its state parameter ties it to the user.
			if strings.HasPrefix(path, "/api/v1/") && op.OperationID != "oauth-callback" {
				require.NotEmpty(t, op.Security, "%s %s needs a token", method, path)
			}
		}
	}
	for _, id := range []string{"create-task", "list-tasks", "get-task", "cancel-task", "retry-task", "cancel-tasks", "retry-tasks",
		"list-dead-letters", "redrive-dead-letters", "list-queues", "pause-queue", "resume-queue", "create-schedule",
		"list-schedules", "get-schedule", "update-schedule", "delete-schedule", "get-stats", "list-alerts", "mark-alerts-read",
		"get-system-health", "get-analytics", "get-system-analytics", "list-task-kinds", "get-health", "get-readiness", "stream-events", "stream-task-events", "create-events-token"} {
		require.True(t, ids[id], id)
	}
}

// TestOpenAPIDescribesEverything holds the document's rule: every operation,
// parameter and schema property says what it is, and every task kind's
// args come with an example that its schema accepts. It builds the document
// as `inboxq openapi` does, from the real kinds.
func TestOpenAPIDescribesEverything(t *testing.T) {
	t.Parallel()
	reg := jobs.NewRegistry()
	jobs.RegisterMaintenance(reg, nil, jobs.DefaultHealthThresholds(), "")
	jobs.RegisterSync(reg, nil, nil, nil, 0)
	jobs.RegisterClassify(reg, nil, classify.MustBase(), nil, nil, 0)
	jobs.RegisterBulk(reg, nil, nil, nil)
	jobs.RegisterCluster(reg, nil, nil)
	jobs.RegisterExport(reg, nil, "", nil)
	jobs.RegisterUpkeep(reg, nil, nil, nil)
	raw, err := api.OpenAPI("test", tasks.NewService(nil, nil, reg, nil))
	require.NoError(t, err)
	var doc struct {
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Description string `json:"description"`
			Parameters  []struct {
				Name        string `json:"name"`
				In          string `json:"in"`
				Description string `json:"description"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))

	var missing []string
	var walk func(at string, s map[string]any)
	walk = func(at string, s map[string]any) {
		props, _ := s["properties"].(map[string]any)
		for name, p := range props {
			ps, _ := p.(map[string]any)
			if _, ref := ps["$ref"]; !ref && ps["description"] == nil {
				missing = append(missing, at+"."+name)
			}
			walk(at+"."+name, ps)
		}
		if items, ok := s["items"].(map[string]any); ok {
			walk(at+"[]", items)
		}
		if extra, ok := s["additionalProperties"].(map[string]any); ok {
			walk(at+"{}", extra)
		}
		for _, union := range []string{"oneOf", "anyOf", "allOf"} {
			members, _ := s[union].([]any)
			for i, m := range members {
				ms, _ := m.(map[string]any)
				walk(fmt.Sprintf("%s(%s %d)", at, union, i), ms)
			}
		}
	}
	for name, s := range doc.Components.Schemas {
		walk(name, s)
	}
	for path, methods := range doc.Paths {
		for method, op := range methods {
			if op.Description == "" {
				missing = append(missing, fmt.Sprintf("operation %s %s", method, path))
			}
			for _, p := range op.Parameters {
				if p.Description == "" {
					missing = append(missing, fmt.Sprintf("%s: %s parameter %s", op.OperationID, p.In, p.Name))
				}
			}
		}
	}
	slices.Sort(missing)
	require.Empty(t, missing, "add a doc tag on the Go field that produces each of these")

	// Each kind's args schema carries an example, which that schema accepts.
	schemas := huma.NewMapRegistry("#/components/schemas/", huma.DefaultSchemaNamer)
	require.NotEmpty(t, reg.Kinds())
	const prefix = "#/components/schemas/"
	mapping := doc.Components.Schemas["CreateTaskRequest"]["discriminator"].(map[string]any)["mapping"].(map[string]any)
	for _, k := range reg.Kinds() {
		// The kind's create-task variant names its args schema.
		variant, _ := mapping[k.Name].(string)
		require.NotEmpty(t, variant, "kind %s is not in CreateTaskRequest", k.Name)
		args := doc.Components.Schemas[strings.TrimPrefix(variant, prefix)]["properties"].(map[string]any)["args"].(map[string]any)
		name := strings.TrimPrefix(args["$ref"].(string), prefix)
		s := doc.Components.Schemas[name]
		require.NotNil(t, s, "kind %s: no args schema %s", k.Name, name)
		examples, _ := s["examples"].([]any)
		require.NotEmpty(t, examples, "kind %s: its args schema %s has no example (set jobs.Info.Example)", k.Name, name)
		for _, ex := range examples {
			res := &huma.ValidateResult{}
			huma.Validate(schemas, schemas.Schema(k.Args, true, ""), huma.NewPathBuffer(nil, 0), huma.ModeWriteToServer, ex, res)
			require.Empty(t, res.Errors, "kind %s: example %v", k.Name, ex)
			b, err := json.Marshal(ex)
			require.NoError(t, err)
			_, err = k.NewArgs(b, 1)
			require.NoError(t, err, "kind %s: example %s", k.Name, b)
		}
	}
}
