package progress

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store"
)

// Hub sizes.
const (
	ringSize   = 8192 // recent events kept for reconnecting subscribers
	subBuffer  = 64   // batches a subscriber may fall behind before it is dropped
	maxBackoff = 5 * time.Second
)

// Hub holds this process's one LISTEN connection and fans events out in
// memory. It keeps the most recent events so that a subscriber that
// reconnects with the id of the last event it saw misses nothing; older
// gaps are filled by a snapshot from the database (see Subscribe).
type Hub struct {
	store   *store.Store
	connect func(ctx context.Context) (*pgx.Conn, error)
	logger  *slog.Logger
	epoch   string

	mu       sync.Mutex
	seq      uint64
	ring     []Event         // ring[seq % ringSize] holds event seq
	scratch  []Event         // publish's, reused
	owned    map[int64][]int // publish's: the batch's events by owner, for owners subscribed
	subs     map[*Subscription]struct{}
	admins   map[*Subscription]struct{}           // admins' subscriptions (every event is a candidate)
	byUser   map[int64]map[*Subscription]struct{} // users' subscriptions by user (only their events are)
	lostAt   time.Time                            // when the listener lost its connection; zero while healthy
	failures int
	ready    chan struct{}
	isReady  bool
}

// NewHub returns a hub that listens through connections made by connect.
func NewHub(st *store.Store, connect func(ctx context.Context) (*pgx.Conn, error), logger *slog.Logger) *Hub {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &Hub{
		store: st, connect: connect, logger: logger, epoch: hex.EncodeToString(b),
		ring: make([]Event, ringSize), subs: map[*Subscription]struct{}{}, ready: make(chan struct{}),
		admins: map[*Subscription]struct{}{}, byUser: map[int64]map[*Subscription]struct{}{}, owned: map[int64][]int{},
	}
}

// Ready is closed once the hub listens.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Run listens until ctx ends, reconnecting with exponential backoff; after a
// reconnect it re-reads what changed meanwhile and publishes it.
func (h *Hub) Run(ctx context.Context) error {
	// The database may be down when the process starts: keep trying, as
	// for a lost connection, rather than leave the process without events.
	var schema string
	for attempt := 0; ; attempt++ {
		var err error
		if schema, err = h.store.CurrentSchema(ctx); err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		h.logger.WarnContext(ctx, "event_hub_waiting_for_database", slog.Any("err", err))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(min(maxBackoff, 50*time.Millisecond<<min(attempt, 10))):
		}
	}
	l := &pgxlisten.Listener{
		Connect:        h.dial,
		ReconnectDelay: -1, // dial backs off itself
		LogError: func(ctx context.Context, err error) {
			if ctx.Err() != nil {
				return
			}
			h.mu.Lock()
			if h.lostAt.IsZero() {
				h.lostAt = time.Now()
			}
			h.failures++
			h.mu.Unlock()
			h.logger.WarnContext(ctx, "event_listener_lost", slog.Any("err", err))
		},
	}
	l.Handle(schema+".inboxq_events", handler{h})
	err := l.Listen(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (h *Hub) dial(ctx context.Context) (*pgx.Conn, error) {
	h.mu.Lock()
	failures := h.failures
	h.mu.Unlock()
	if failures > 0 {
		wait := min(maxBackoff, 50*time.Millisecond<<min(failures-1, 10))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
	return h.connect(ctx)
}

type handler struct{ h *Hub }

func (hd handler) HandleNotification(ctx context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	evs, err := parse(n.Payload)
	if err != nil {
		// A payload this hub cannot read (a newer writer?) is dropped and
		// logged; it says nothing about the connection, which stays up.
		hd.h.logger.ErrorContext(ctx, "event_payload_unreadable", slog.Any("err", err), slog.Int("bytes", len(n.Payload)))
		return nil
	}
	hd.h.publish(evs...)
	return nil
}

// HandleBacklog runs after every LISTEN: the first time it marks the hub
// ready; after a reconnect it publishes the state of everything that may
// have changed while the hub was deaf.
func (hd handler) HandleBacklog(ctx context.Context, _ string, conn *pgx.Conn) (err error) {
	h := hd.h
	h.mu.Lock()
	lost := h.lostAt
	if !h.isReady {
		h.isReady = true
		close(h.ready)
	}
	if lost.IsZero() {
		h.failures = 0
	}
	h.mu.Unlock()
	if lost.IsZero() {
		return nil
	}
	defer func() {
		if err != nil {
			// pgxlisten only logs a backlog's error and goes on listening
			// on this connection, which would leave the hub deaf to what
			// it missed and not ready until the next loss. Closing it
			// makes the listener reconnect; the lost mark stays, so the
			// next backlog resyncs from the same moment.
			_ = conn.Close(context.WithoutCancel(ctx))
		}
	}()
	since := lost.Add(-2 * time.Second)
	h.logger.InfoContext(ctx, "event_listener_resync", slog.Time("since", since))
	tasks, err := h.store.TaskActiveOrFinishedSince(ctx, nil, since, 10_000)
	if err != nil {
		return err
	}
	evs := make([]Event, 0, len(tasks))
	for i := len(tasks) - 1; i >= 0; i-- { // oldest first
		evs = append(evs, SnapshotEvent(tasks[i]))
	}
	h.publish(evs...)
	alerts, err := h.store.AlertListSince(ctx, since, 1000)
	if err != nil {
		return err
	}
	for _, a := range alerts {
		h.publish(Event{Alert: &AlertRaised{ID: a.ID, Owner: a.UserID, Severity: a.Severity, Title: a.Title, Message: a.Message, TaskID: a.TaskID, At: a.CreatedAt}})
	}
	h.mu.Lock()
	if h.lostAt.Equal(lost) {
		h.lostAt = time.Time{} // caught up
	}
	h.failures = 0 // only now: a resync that keeps failing backs off
	h.mu.Unlock()
	return nil
}

// Listening reports whether the hub holds its LISTEN connection and has
// caught up after the last loss: what readiness needs from it.
func (h *Hub) Listening() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.isReady && h.lostAt.IsZero()
}

// SnapshotEvent is a task's current state as an event.
func SnapshotEvent(t inbox.Task) Event {
	c := &TaskChange{ID: t.ID, Kind: t.Kind, Queue: t.Queue, Owner: t.OwnerID, State: t.State, Attempt: t.Attempt,
		MaxAttempts: t.MaxAttempts, Priority: t.Priority, Result: t.Result, Snapshot: true, Progress: t.Progress, At: snapshotAt(t)}
	if n := len(t.Errors); n > 0 && (t.State == inbox.TaskRetrying || t.State == inbox.TaskFailed) {
		c.Error = t.Errors[n-1].Error
	}
	return Event{Task: c}
}

// Filter selects the events a subscriber receives.
type Filter struct {
	// Caller is who subscribes: users get their own events; admins get
	// every task's, and the system alerts.
	Caller inbox.Principal
	// TaskID, when set, limits events to one task's changes and progress
	// (no alerts, even about the task).
	TaskID int64
	// Kinds, when set, limits task and progress events to these kinds.
	Kinds []string
	// Tokens are the tokens the subscriber was authorized with (a token and
	// the token that minted it): their revocation is delivered, so that the
	// subscriber can end. Nobody else hears of a revocation.
	Tokens []int64
}

func (f Filter) match(e Event) bool {
	if e.Revoked != nil {
		return slices.Contains(f.Tokens, e.Revoked.ID)
	}
	if f.TaskID != 0 && (e.TaskID() != f.TaskID || e.Alert != nil || e.Workflow != nil) {
		return false // a task's stream: its changes and progress; alerts and workflows go to the caller's stream
	}
	if len(f.Kinds) > 0 && e.Alert == nil && e.Workflow == nil {
		found := false
		for _, k := range f.Kinds {
			found = found || k == e.Kind()
		}
		if !found {
			return false
		}
	}
	owner := e.Owner()
	if e.Alert != nil {
		// Alerts are personal: system alerts go to admins, others to their user.
		if owner == nil {
			return f.Caller.IsAdmin()
		}
		return *owner == f.Caller.UserID
	}
	return f.Caller.IsAdmin() || (owner != nil && *owner == f.Caller.UserID)
}

// Subscription receives matching events on C, in batches as they arrived
// (one NOTIFY may describe hundreds of changes), until it is closed: by
// Close, or by the hub when the subscriber falls too far behind (Dropped is
// then true and the client should reconnect, resuming from its last id).
type Subscription struct {
	C       <-chan []Event
	c       chan []Event
	hub     *Hub
	filter  Filter
	dropped bool
}

// Dropped reports whether the hub dropped the subscription for being slow.
func (s *Subscription) Dropped() bool {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.dropped
}

// Close ends the subscription; safe to call more than once.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	if _, ok := s.hub.subs[s]; ok {
		s.hub.remove(s)
		close(s.c)
	}
}

// add and remove keep a subscription in subs and in the index publish
// reads: a user's stream can match only the user's own events (and the
// revocation of its token), so publish hands an event only to its owner's
// subscriptions and the admins', not to every stream.
func (h *Hub) add(s *Subscription) {
	h.subs[s] = struct{}{}
	if s.filter.Caller.IsAdmin() {
		h.admins[s] = struct{}{}
		return
	}
	u := s.filter.Caller.UserID
	if h.byUser[u] == nil {
		h.byUser[u] = map[*Subscription]struct{}{}
	}
	h.byUser[u][s] = struct{}{}
}

func (h *Hub) remove(s *Subscription) {
	delete(h.subs, s)
	delete(h.admins, s)
	u := s.filter.Caller.UserID
	if m := h.byUser[u]; m != nil {
		delete(m, s)
		if len(m) == 0 {
			delete(h.byUser, u)
		}
	}
}

// Subscribe starts a subscription. With lastEventID of an event this hub
// still remembers, replay holds the matching events after it and caughtUp
// is true; otherwise the caller must send a snapshot first. cursor is the
// id of the newest event at subscription time, for the snapshot.
func (h *Hub) Subscribe(f Filter, lastEventID string) (sub *Subscription, replay []Event, caughtUp bool, cursor string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := make(chan []Event, subBuffer)
	sub = &Subscription{C: c, c: c, hub: h, filter: f}
	h.add(sub)
	if after, ok := h.parseID(lastEventID); ok && h.seq-after <= ringSize-1 {
		caughtUp = true
		for s := after + 1; s <= h.seq; s++ {
			if e := h.ring[s%ringSize]; f.match(e) {
				replay = append(replay, e)
			}
		}
	}
	return sub, replay, caughtUp, h.id(h.seq)
}

// Subscribers counts live subscriptions.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

func (h *Hub) id(seq uint64) string { return h.epoch + "-" + strconv.FormatUint(seq, 10) }

func (h *Hub) parseID(id string) (uint64, bool) {
	epoch, seq, ok := strings.Cut(id, "-")
	if !ok || epoch != h.epoch {
		return 0, false
	}
	n, err := strconv.ParseUint(seq, 10, 64)
	return n, err == nil && n <= h.seq
}

// publish numbers events, remembers them and hands each subscriber its
// matching ones, as one batch, without waiting: a subscriber whose buffer
// is full is dropped, never waited for.
func (h *Hub) publish(evs ...Event) {
	if len(evs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	// A batch is a grouped event's hundreds of tasks: its ids are cut from
	// one string and its frames from one slice (two allocations, not two
	// per event).
	frames := make([]frame, len(evs))
	ids := make([]byte, 0, len(evs)*(len(h.epoch)+12))
	ends := make([]int, len(evs))
	for i := range evs {
		ids = strconv.AppendUint(append(append(ids, h.epoch...), '-'), h.seq+uint64(i)+1, 10)
		ends[i] = len(ids)
	}
	all, start := string(ids), 0
	for i := range evs {
		h.seq++
		evs[i].ID, start = all[start:ends[i]], ends[i]
		evs[i].frame = &frames[i]
		h.ring[h.seq%ringSize] = evs[i]
	}
	// A token's revocation (rare) may concern any stream; otherwise an
	// event is a candidate for the admins' streams and its owner's.
	revoked := false
	for _, e := range evs {
		revoked = revoked || e.Revoked != nil
	}
	if revoked {
		for s := range h.subs {
			h.deliver(s, h.gather(s, evs, nil))
		}
		return
	}
	for s := range h.admins {
		h.deliver(s, h.gather(s, evs, nil))
	}
	if len(h.byUser) == 0 {
		return
	}
	clear(h.owned)
	for i, e := range evs {
		if o := e.Owner(); o != nil && h.byUser[*o] != nil {
			h.owned[*o] = append(h.owned[*o], i)
		}
	}
	for owner, idx := range h.owned {
		for s := range h.byUser[owner] {
			h.deliver(s, h.gather(s, evs, idx))
		}
	}
}

// gather returns the events of evs (those at idx, or all when idx is nil)
// that s matches, in order, as a batch of their size: matches are
// collected in a reused scratch slice (appending into the batch from
// nothing grew an admin's batch of 350 events ten times).
func (h *Hub) gather(s *Subscription, evs []Event, idx []int) []Event {
	scratch := h.scratch[:0]
	if idx == nil {
		for _, e := range evs {
			if s.filter.match(e) {
				scratch = append(scratch, e)
			}
		}
	} else {
		for _, i := range idx {
			if s.filter.match(evs[i]) {
				scratch = append(scratch, evs[i])
			}
		}
	}
	var batch []Event
	if len(scratch) > 0 {
		batch = slices.Clone(scratch)
	}
	clear(scratch) // the ring keeps the events; the scratch keeps nothing
	h.scratch = scratch[:0]
	return batch
}

// deliver hands s its batch without waiting: a subscriber whose buffer is
// full is dropped, never waited for.
func (h *Hub) deliver(s *Subscription, batch []Event) {
	if batch == nil {
		return
	}
	select {
	case s.c <- batch:
	default:
		s.dropped = true
		h.remove(s)
		close(s.c)
	}
}

// snapshotAt is when the state a snapshot reports began: a client that
// missed the change (it reconnected) takes this as the finish or start time,
// so it must not be the moment of the snapshot.
func snapshotAt(t inbox.Task) time.Time {
	switch {
	case t.State.Finished() && t.FinishedAt != nil:
		return *t.FinishedAt
	case t.StartedAt != nil && (t.State == inbox.TaskRunning || t.State == inbox.TaskCancelling):
		return *t.StartedAt
	}
	return t.CreatedAt
}
