package progress

import (
	"context"
	"encoding/json"
	"maps"
	"sync"

	"github.com/riverqueue/river"
)

// Final mirrors the metadata an attempt leaves in River's job row when it
// ends: its last progress report and its result. River keeps its own copy
// where only its completer reads it; a workflow step completed before
// River's completer comes (jobs.StepCompleter) merges this one, the same.
type Final struct {
	mu     sync.Mutex
	m      map[string]json.RawMessage
	failed bool
}

type finalKey struct{}

// WithFinal returns a context whose attempt's final metadata is mirrored
// into the returned Final.
func WithFinal(ctx context.Context) (context.Context, *Final) {
	f := &Final{}
	return context.WithValue(ctx, finalKey{}, f), f
}

// SetMetadata sets a key of the metadata River merges into the job when the
// attempt ends (river.MetadataSet), and mirrors it.
func SetMetadata(ctx context.Context, key string, value any) error {
	b, err := json.Marshal(value)
	if err != nil {
		return err
	}
	if err := river.MetadataSet(ctx, key, json.RawMessage(b)); err != nil {
		return err
	}
	Mirror(ctx, key, b)
	return nil
}

// Mirror records a key River was given by other means (river.RecordOutput)
// in the attempt's Final, when it has one.
func Mirror(ctx context.Context, key string, raw json.RawMessage) {
	f, _ := ctx.Value(finalKey{}).(*Final)
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]json.RawMessage{}
	}
	f.m[key] = raw
}

// NoteFailure records that part of the attempt failed where the worker's
// own return value does not show it: River applies a resumable step's error
// outside every middleware (jobs.Step records it here). Such an attempt is
// River's to record.
func NoteFailure(ctx context.Context) {
	if f, _ := ctx.Value(finalKey{}).(*Final); f != nil {
		f.mu.Lock()
		f.failed = true
		f.mu.Unlock()
	}
}

// Failed reports whether NoteFailure was called.
func (f *Final) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

// Metadata is what the attempt set, as one JSON object (nil: nothing).
func (f *Final) Metadata() []byte {
	f.mu.Lock()
	m := maps.Clone(f.m)
	f.mu.Unlock()
	if len(m) == 0 {
		return nil
	}
	b, _ := json.Marshal(m) // raw messages that were marshalled once already
	return b
}
