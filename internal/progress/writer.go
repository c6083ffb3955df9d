package progress

import (
	"context"
	"log/slog"
	"time"

	"github.com/inboxq/inboxq/internal/store"
)

// Writer saves the progress of every task of a process in batches: one
// statement (and one commit) per batch, however many tasks report. A
// Reporter's periodic writes go through it without waiting; its final flush
// waits for the batch that carries it, so a task's last progress is stored
// before River marks the task finished.
type Writer struct {
	store  *store.Store
	logger *slog.Logger
	in     chan writeReq
	done   chan struct{}
}

type writeReq struct {
	up    store.ProgressUpdate
	saved chan error // nil: nobody waits
}

// maxBatch bounds one statement.
const maxBatch = 500

// NewWriter returns a Writer; call Run before using it.
func NewWriter(st *store.Store, logger *slog.Logger) *Writer {
	return &Writer{store: st, logger: logger, in: make(chan writeReq, 4*maxBatch), done: make(chan struct{})}
}

// Run writes batches until ctx ends, then writes what is left.
func (w *Writer) Run(ctx context.Context) {
	defer close(w.done)
	for {
		var first writeReq
		select {
		case <-ctx.Done():
			w.drain()
			return
		case first = <-w.in:
		}
		batch := []writeReq{first}
	collect: // whatever else is already waiting joins this batch
		for len(batch) < maxBatch {
			select {
			case r := <-w.in:
				batch = append(batch, r)
			default:
				break collect
			}
		}
		w.write(batch)
	}
}

func (w *Writer) drain() {
	for {
		select {
		case r := <-w.in:
			w.write([]writeReq{r})
		default:
			return
		}
	}
}

func (w *Writer) write(batch []writeReq) {
	// The latest report of a task wins within a batch.
	latest := make(map[int64]int, len(batch))
	ups := make([]store.ProgressUpdate, 0, len(batch))
	for _, r := range batch {
		if i, ok := latest[r.up.JobID]; ok {
			ups[i] = r.up
			continue
		}
		latest[r.up.JobID] = len(ups)
		ups = append(ups, r.up)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := w.store.ProgressSave(ctx, ups...)
	cancel()
	if err != nil {
		w.logger.Warn("progress_write_failed", slog.Int("tasks", len(ups)), slog.Any("err", err))
	}
	for _, r := range batch {
		if r.saved != nil {
			r.saved <- err
		}
	}
}

// save queues an update; with wait it returns once the update is stored.
func (w *Writer) save(ctx context.Context, up store.ProgressUpdate, wait bool) error {
	r := writeReq{up: up}
	if wait {
		r.saved = make(chan error, 1)
	}
	select {
	case w.in <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.done:
		return errWriterStopped
	}
	if !wait {
		return nil
	}
	select {
	case err := <-r.saved:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

type writerError string

func (e writerError) Error() string { return string(e) }

const errWriterStopped = writerError("progress writer stopped")
