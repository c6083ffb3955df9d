// Package lifecycle runs inboxq's long-lived parts (HTTP server, River
// client, event hub, progress writer, scheduler, metrics, lease) the way
// River runs its own services: each has the shape of
// rivershared/startstop.Service (Start, Started, Stop that waits), one
// Supervisor starts them in order, stops them in reverse, joins every
// goroutine, hears when one dies on its own, and answers readiness from
// them.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/riverqueue/river/rivershared/startstop"
)

// Service is a long-lived part: Start backgrounds it and returns, Stop
// returns once it has stopped; both tolerate repeats.
type Service = startstop.Service

// Readier is a Service that can say it is not ready (yet).
type Readier interface {
	Ready(ctx context.Context) error
}

// failer is a Service that can end on its own; the error says why.
type failer interface {
	Failed() <-chan error
}

// Supervisor owns an ordered list of services.
type Supervisor struct {
	logger   *slog.Logger
	services []named
	started  int // how many of services started, in order

	failed   chan error
	watchers sync.WaitGroup
	quit     chan struct{}
	quitOnce sync.Once
}

type named struct {
	name string
	svc  Service
}

// New returns an empty supervisor.
func New(logger *slog.Logger) *Supervisor {
	return &Supervisor{logger: logger, failed: make(chan error, 1), quit: make(chan struct{})}
}

// Add appends a service; Start starts services in the order they were added.
func (s *Supervisor) Add(name string, svc Service) {
	s.services = append(s.services, named{name, svc})
}

// Start starts every service in order. When one fails to start, those
// already started are stopped in reverse and the error names the service.
func (s *Supervisor) Start(ctx context.Context) error {
	for _, n := range s.services[s.started:] {
		if err := n.svc.Start(ctx); err != nil {
			s.Stop()
			return fmt.Errorf("starting %s: %w", n.name, err)
		}
		s.started++
		if f, ok := n.svc.(failer); ok {
			s.watch(n.name, f.Failed())
		}
	}
	return nil
}

func (s *Supervisor) watch(name string, failed <-chan error) {
	s.watchers.Add(1)
	go func() {
		defer s.watchers.Done()
		select {
		case err := <-failed:
			select {
			case s.failed <- fmt.Errorf("%s: %w", name, err):
			default: // one failure is enough to stop the process
			}
		case <-s.quit:
		}
	}()
}

// Failed delivers the first service that ended on its own. The process
// should then stop everything and exit non-zero, so that whatever runs it
// restarts it rather than keep a part-dead process.
func (s *Supervisor) Failed() <-chan error { return s.failed }

// Stop stops the started services in reverse order, each waiting until it
// has stopped, and joins the supervisor's own goroutines.
func (s *Supervisor) Stop() {
	for i := s.started - 1; i >= 0; i-- {
		n := s.services[i]
		begin := time.Now()
		n.svc.Stop()
		s.logger.Debug("service_stopped", slog.String("service", n.name), slog.Duration("took", time.Since(begin)))
	}
	s.started = 0
	s.quitOnce.Do(func() { close(s.quit) })
	s.watchers.Wait()
}

// Ready is nil when every started service that can tell is ready, and
// otherwise the first one's reason. A supervisor that has not started every
// service is not ready.
func (s *Supervisor) Ready(ctx context.Context) error {
	if s.started < len(s.services) {
		return errors.New("starting")
	}
	for _, n := range s.services {
		if r, ok := n.svc.(Readier); ok {
			if err := r.Ready(ctx); err != nil {
				return fmt.Errorf("%s: %w", n.name, err)
			}
		}
	}
	return nil
}

// Func is a service whose work is one function that runs until its context
// ends (at Stop). If it returns before that, Failed says so (a nil error
// becomes "ended unexpectedly").
func Func(run func(ctx context.Context) error) *FuncService {
	return &FuncService{run: run, failed: make(chan error, 1)}
}

// FuncService is the Service Func returns.
type FuncService struct {
	startstop.BaseStartStop
	run    func(ctx context.Context) error
	ready  func(ctx context.Context) error
	failed chan error
}

// WithReady gives the service a readiness check.
func (f *FuncService) WithReady(ready func(ctx context.Context) error) *FuncService {
	f.ready = ready
	return f
}

// Ready runs the readiness check given to WithReady.
func (f *FuncService) Ready(ctx context.Context) error {
	if f.ready == nil {
		return nil
	}
	return f.ready(ctx)
}

// Start runs the function in a goroutine.
func (f *FuncService) Start(ctx context.Context) error {
	ctx, shouldStart, started, stopped := f.StartInit(ctx)
	if !shouldStart {
		return nil
	}
	started()
	go func() {
		defer stopped()
		err := f.run(ctx)
		if ctx.Err() != nil {
			return // stopped on purpose
		}
		if err == nil {
			err = errors.New("ended unexpectedly")
		}
		select {
		case f.failed <- err:
		default:
		}
	}()
	return nil
}

// Failed delivers the error of a function that ended before Stop.
func (f *FuncService) Failed() <-chan error { return f.failed }

// Hooks adapts a part that has its own start and stop: start must return
// once the part runs (its context ends at Stop); stop must return once the
// part has stopped.
func Hooks(start func(ctx context.Context) error, stop func()) *HookService {
	return &HookService{start: start, stop: stop}
}

// HookService is the Service Hooks returns.
type HookService struct {
	startstop.BaseStartStop
	start func(ctx context.Context) error
	stop  func()
}

// Start calls the start hook.
func (h *HookService) Start(ctx context.Context) error {
	ctx, shouldStart, started, stopped := h.StartInit(ctx)
	if !shouldStart {
		return nil
	}
	if err := h.start(ctx); err != nil {
		stopped()
		return err
	}
	started()
	go func() {
		defer stopped()
		<-ctx.Done()
		h.stop()
	}()
	return nil
}

// HTTP serves srv on ln from Start until Stop, which shuts it down
// gracefully, giving open requests up to timeout. Serving that ends on its
// own (the listener broke) is a failure.
func HTTP(srv *http.Server, ln net.Listener, timeout time.Duration) *HTTPService {
	return &HTTPService{srv: srv, ln: ln, timeout: timeout, failed: make(chan error, 1)}
}

// HTTPService is the Service HTTP returns.
type HTTPService struct {
	startstop.BaseStartStop
	srv     *http.Server
	ln      net.Listener
	timeout time.Duration
	failed  chan error
}

// Start serves in a goroutine.
func (h *HTTPService) Start(ctx context.Context) error {
	ctx, shouldStart, started, stopped := h.StartInit(ctx)
	if !shouldStart {
		return nil
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := h.srv.Serve(h.ln); !errors.Is(err, http.ErrServerClosed) {
			h.failed <- err
		}
	}()
	started()
	go func() {
		defer stopped()
		select {
		case <-ctx.Done():
		case <-served:
			return
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.timeout)
		defer cancel()
		if err := h.srv.Shutdown(sctx); err != nil {
			_ = h.srv.Close() // the timeout passed: cut what is left
		}
		<-served
	}()
	return nil
}

// Failed delivers the error that ended serving.
func (h *HTTPService) Failed() <-chan error { return h.failed }
