// Package api is inboxq's HTTP surface: Huma operations on a chi router
// under /api/v1, health endpoints, the OpenAPI document and its docs page,
// and the middleware every request passes (request id, access log, panic
// recovery). Huma and chi stay inside this package.
package api

import (
	"cmp"
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"

	"github.com/inboxq/inboxq/internal/auth"
	"github.com/inboxq/inboxq/internal/messages"
	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
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
	// Tasks is the task service; Auth checks tokens.
	Tasks *tasks.Service
	Auth  *auth.Service
	// RiverUI, when set, is mounted at /riverui for admins.
	RiverUI http.Handler
	// Metrics, when set, is served at /metrics for admins.
	Metrics http.Handler
	// Hub fans live events out to the event streams.
	Hub *progress.Hub
	// Heartbeat overrides how often idle event streams send a comment (and
	// re-check the token they were opened with).
	Heartbeat time.Duration
	// StreamsPerUser caps each user's open event streams in this process
	// (0: DefaultStreamsPerUser).
	StreamsPerUser int
	// StreamMaxLife is how long an event stream lasts before the server ends
	// it, so that its client reconnects and authenticates again
	// (0: DefaultStreamMaxLife).
	StreamMaxLife time.Duration
	// SnapshotTasks caps the tasks an event stream's snapshot sends
	// (0: DefaultSnapshotTasks).
	SnapshotTasks int
	// Accounts connects and lists Gmail accounts (nil: no such operations).
	Accounts Accounts
	// Messages lists and corrects users' stored mail (nil: no such
	// operations).
	Messages *messages.Service
	// Analytics reads the analytics rollups (nil: no such operations).
	Analytics AnalyticsStore
	// Exports lists users' archives and serves their files (nil: no such operations).
	Exports Exports
	// Idempotency keeps responses for Idempotency-Key replays (nil: the
	// header is ignored).
	Idempotency IdempotencyStore
	// Dashboard is the built web app (web.Dist's "dist"), served at / with
	// a fallback to index.html for paths outside the API.
	Dashboard fs.FS
}

func (d Deps) heartbeat() time.Duration {
	if d.Heartbeat > 0 {
		return d.Heartbeat
	}
	return heartbeat
}

// Event stream limits' defaults (see Deps).
const (
	DefaultStreamsPerUser = 10
	DefaultStreamMaxLife  = time.Hour
	DefaultSnapshotTasks  = 200
)

func (d Deps) streamsPerUser() int { return cmp.Or(max(d.StreamsPerUser, 0), DefaultStreamsPerUser) }
func (d Deps) streamMaxLife() time.Duration {
	return cmp.Or(max(d.StreamMaxLife, 0), DefaultStreamMaxLife)
}
func (d Deps) snapshotTasks() int { return cmp.Or(max(d.SnapshotTasks, 0), DefaultSnapshotTasks) }

// NewConfig is the Huma configuration shared by the server and `inboxq openapi`.
func NewConfig(version string) huma.Config {
	cfg := huma.DefaultConfig("inboxq", version)
	// The default config's only create hook adds Huma's schema link
	// transformer: a "$schema" property in every schema and, in every
	// response, "$schema": "http://<Host header>/schemas/…". That echoes
	// whatever Host a client sent back into bodies (and caches), and no
	// client reads it. /schemas/{name}.json itself still works.
	cfg.CreateHooks = nil
	// Huma's docs page loads its viewer from a CDN; inboxq serves its own
	// (apiDocs), built into the binary.
	cfg.DocsPath = ""
	cfg.Components.Schemas = huma.NewMapRegistry(schemaRef(""), schemaNamer)
	cfg.Transformers = append(cfg.Transformers, typeProblems)
	cfg.Info.Description = "Background processing for an AI email-management app on Gmail: " +
		"start, watch and steer mailbox syncs, bulk operations, exports and maintenance.\n\n" +
		"Authenticate with `Authorization: Bearer <token>` (create one with `inboxq token create --user NAME`). " +
		"Errors are RFC 9457 problem+json; another user's task is a 404."
	cfg.Info.Contact = &huma.Contact{Name: "inboxq", URL: "https://github.com/inboxq/inboxq"}
	cfg.Info.License = &huma.License{Name: "Proprietary", Identifier: "LicenseRef-Proprietary"}
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		securityScheme: {Type: "http", Scheme: "bearer", Description: "An inboxq API token (iq_…)"},
	}
	cfg.Info.Description += "\n\n" + conventionsDoc
	// Relative: the document describes whichever host serves it.
	cfg.Servers = []*huma.Server{{URL: "/", Description: "This server"}}
	cfg.Security = bearer
	cfg.Tags = tags
	return cfg
}

// Register adds every operation to api. The server, the tests and the
// openapi command all call it, so the document always matches the server.
func Register(api huma.API, d Deps) {
	api.UseMiddleware(authenticate(api, d))
	useConventions(api, d)
	registerHealth(api, d)
	ks := newKindSchemas(api.OpenAPI().Components.Schemas, d.Tasks.Kinds().Kinds())
	registerTasks(api, d, ks)
	registerWorkflows(api, d, ks)
	registerQueues(api, d)
	registerSchedules(api, d, ks)
	registerEvents(api, d)
	registerAccounts(api, d)
	registerMessages(api, d)
	registerClusters(api, d)
	registerSenders(api, d)
	registerExports(api, d)
	registerAnalytics(api, d)
	finishDocument(api.OpenAPI())
}

// NewHandler builds the HTTP handler: middleware, then the Huma API.
func NewHandler(d Deps) http.Handler {
	r := chi.NewRouter()
	r.Use(requestID)
	r.Use(accessLog(d.Logger))
	r.Use(recoverer(d.Logger))
	cfg := NewConfig(d.Version)
	r.Use(securityHeaders)
	r.Use(storable(r))
	if d.RiverUI != nil {
		r.Mount("/riverui", sameOrigin(requireAdmin(d.Auth, "River UI", d.RiverUI)))
	}
	if d.Metrics != nil {
		r.Method(http.MethodGet, "/metrics", requireAdmin(d.Auth, "inboxq metrics", d.Metrics))
	}
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		writeProblem(w, http.StatusMethodNotAllowed, req.Method+" is not allowed on "+req.URL.Path)
	})
	api := humachi.New(r, cfg)
	Register(api, d)
	if d.Dashboard != nil {
		r.Method(http.MethodGet, DocsPath, apiDocs(d.Dashboard))
		app := dashboard(d.Dashboard)
		r.NotFound(func(w http.ResponseWriter, req *http.Request) {
			// Unknown API paths stay problem+json 404s; the rest is the app's.
			if req.Method != http.MethodGet || strings.HasPrefix(req.URL.Path, Prefix+"/") || req.URL.Path == Prefix {
				writeProblem(w, http.StatusNotFound, "no such endpoint")
				return
			}
			app.ServeHTTP(w, req)
		})
	}
	return r
}

// OpenAPI returns the OpenAPI 3.1 document as indented JSON, without
// touching a database: svc only needs its kind registry.
func OpenAPI(version string, svc *tasks.Service) ([]byte, error) {
	api := humachi.New(chi.NewRouter(), NewConfig(version))
	Register(api, Deps{Tasks: svc, Accounts: noAccounts{}, Exports: noExports{}, Messages: &messages.Service{},
		// A Store without a pool: the document needs the operations, not their data.
		Analytics: &store.Store{}})
	return json.MarshalIndent(api.OpenAPI(), "", "  ")
}

// NewServer wraps h in an http.Server with timeouts, so a slow or idle client
// cannot hold a connection forever.
func NewServer(addr string, h http.Handler, logger *slog.Logger) *http.Server {
	// Requests' contexts end when Shutdown starts, so event streams close
	// instead of holding the shutdown until its timeout.
	base, cancel := context.WithCancel(context.Background())
	srv := &http.Server{
		BaseContext:       func(net.Listener) context.Context { return base },
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second, // streams lift it per request
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(cancel)
	return srv
}

// maxBody caps request bodies (1 MiB); larger ones get 413. Huma applies it
// to typed bodies by itself; raw bodies must say so.
const maxBody = 1 << 20

// noAccounts stands in for the account service when only the document is
// wanted.
type noAccounts struct{ Accounts }
