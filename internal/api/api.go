// Package api is inboxq's HTTP surface: Huma operations on a chi router
// under /api/v1, health endpoints, the OpenAPI document and its docs page,
// and the middleware every request passes (request id, access log, panic
// recovery). Huma and chi stay inside this package.
package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// Prefix is where the versioned API lives.
const Prefix = "/api/v1"

// Deps is what the operations need from the rest of inboxq.
type Deps struct {
	// Logger receives the access log and errors.
	Logger *slog.Logger
	// Ready reports why the service cannot serve yet (nil = ready).
	Ready func(ctx context.Context) error
	// Version is the build's version string.
	Version string
}

// NewConfig is the Huma configuration shared by the server and `inboxq openapi`.
func NewConfig(version string) huma.Config {
	cfg := huma.DefaultConfig("inboxq", version)
	cfg.Info.Description = "Background processing for an AI email-management app on Gmail: " +
		"start, watch and steer mailbox syncs, classification, bulk operations, exports and maintenance."
	return cfg
}

// Register adds every operation to api. The server, the tests and the
// openapi command all call it, so the document always matches the server.
func Register(api huma.API, d Deps) {
	registerHealth(api, d)
}

// NewHandler builds the HTTP handler: middleware, then the Huma API.
func NewHandler(d Deps) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	r.Use(accessLog(d.Logger))
	r.Use(recoverer(d.Logger))
	api := humachi.New(r, NewConfig(d.Version))
	Register(api, d)
	return r
}

// OpenAPI returns the OpenAPI 3.1 document as indented JSON, without
// touching a database.
func OpenAPI(version string) ([]byte, error) {
	api := humachi.New(chi.NewRouter(), NewConfig(version))
	Register(api, Deps{})
	return json.MarshalIndent(api.OpenAPI(), "", "  ")
}

// NewServer wraps h in an http.Server with timeouts, so a slow or idle client
// cannot hold a connection forever.
func NewServer(addr string, h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second, // streams lift it per request
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
