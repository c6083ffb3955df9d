package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// HealthOutput is the body of /healthz and /readyz.
type HealthOutput struct {
	Body struct {
		Status string `json:"status" enum:"ok,ready" doc:"ok: the process is alive; ready: it can serve requests"`
	}
}

func registerHealth(api huma.API, d Deps) {
	huma.Register(api, huma.Operation{
		OperationID: "get-health",
		Method:      http.MethodGet,
		Path:        "/healthz",
		Summary:     "Liveness",
		Description: "Answers 200 while the process runs; it does not look at the database.",
		Tags:        []string{"Health"},
	}, func(ctx context.Context, _ *struct{}) (*HealthOutput, error) {
		out := &HealthOutput{}
		out.Body.Status = "ok"
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "get-readiness",
		Method:      http.MethodGet,
		Path:        "/readyz",
		Summary:     "Readiness",
		Description: "Answers 200 when the database is reachable and its migrations are current, else 503 with the reason, within 2 seconds whatever the database does.",
		Tags:        []string{"Health"},
		Errors:      []int{http.StatusServiceUnavailable},
	}, func(ctx context.Context, _ *struct{}) (*HealthOutput, error) {
		// A hung database must not hang the probe: it answers 503 in time.
		ctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		if err := d.Ready(ctx); err != nil {
			return nil, huma.Error503ServiceUnavailable("not ready: " + err.Error())
		}
		out := &HealthOutput{}
		out.Body.Status = "ready"
		return out, nil
	})
}

// readyTimeout bounds /readyz: probes have deadlines of a few seconds.
const readyTimeout = 2 * time.Second
