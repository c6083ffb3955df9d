package api

import (
	"context"
	"net/http"

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
		Description: "Answers 200 when the database is reachable and its migrations are current, else 503 with the reason.",
		Tags:        []string{"Health"},
		Errors:      []int{http.StatusServiceUnavailable},
	}, func(ctx context.Context, _ *struct{}) (*HealthOutput, error) {
		if err := d.Ready(ctx); err != nil {
			return nil, huma.Error503ServiceUnavailable("not ready: " + err.Error())
		}
		out := &HealthOutput{}
		out.Body.Status = "ready"
		return out, nil
	})
}
