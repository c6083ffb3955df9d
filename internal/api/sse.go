package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// streamEvent is one named event a stream sends, as the document lists it.
type streamEvent struct {
	name   string // the SSE event name (event: line)
	schema string // the component that describes the whole event
	data   any    // the payload (data: line, JSON)
	doc    string
}

// streamDoc documents a text/event-stream response so that clients can be
// generated from it: the response schema describes one event (what OpenAPI
// 3.2 calls the itemSchema of a sequential media type), a oneOf of one
// component per event name, each with a const "event" discriminator and its
// "data" payload. openapi-typescript makes that a discriminated union.
// It is deliberately not an array (as Huma's sse.Register writes it), which
// generators read as "each item is a list of events". The stream itself is
// written by stream below: it needs string event ids, events without ids,
// comments for heartbeats and per-write deadlines, which Huma's sse writer
// lacks.
func streamDoc(api huma.API, op *huma.Operation, events []streamEvent) {
	reg := api.OpenAPI().Components.Schemas
	var variants []*huma.Schema
	mapping := map[string]string{}
	for _, e := range events {
		ref := "#/components/schemas/" + e.schema
		reg.Map()[e.schema] = &huma.Schema{
			Type:        huma.TypeObject,
			Description: e.doc,
			Properties: map[string]*huma.Schema{
				"event": {Type: huma.TypeString, Description: "The event name (the event: line).", Extensions: map[string]any{"const": e.name}},
				"data":  reg.Schema(reflect.TypeOf(e.data), true, e.name),
				"id": {Type: huma.TypeString, Description: "The event id (the id: line), when it has one; " +
					"send the last one received back as Last-Event-ID (or last_event_id) to resume after it."},
				"retry": {Type: huma.TypeInteger, Description: "Reconnection delay hint in milliseconds (the retry: line)."},
			},
			Required: []string{"event", "data"},
		}
		variants = append(variants, &huma.Schema{Ref: ref})
		mapping[e.name] = ref
	}
	op.Responses = map[string]*huma.Response{"200": {
		Description: "An endless stream of Server-Sent Events (text/event-stream): read it incrementally, never as a whole. " +
			"The schema describes one event; the stream is a sequence of them, with a comment line about every 15 s as a heartbeat.",
		Content: map[string]*huma.MediaType{"text/event-stream": {Schema: &huma.Schema{
			Title:         "Server-Sent Event",
			OneOf:         variants,
			Discriminator: &huma.Discriminator{PropertyName: "event", Mapping: mapping},
		}}},
	}}
}

// stream writes Server-Sent Events.
type stream struct {
	w        io.Writer
	rc       *http.ResponseController
	deadline time.Time // the write deadline last set
}

func newStream(w http.ResponseWriter) *stream {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // tell proxies not to buffer
	w.WriteHeader(http.StatusOK)
	return &stream{w: w, rc: http.NewResponseController(w)}
}

// streamWriteTimeout bounds each write: a client that stops reading is cut
// off instead of holding the handler forever. The deadline is moved at most
// once a second (a write gets between 9 and 10 s): moving it is a timer
// update in the runtime, which a stream with a thousand peers would pay on
// every event.
const streamWriteTimeout = 10 * time.Second

func (s *stream) write(b []byte) error {
	if now := time.Now(); s.deadline.Sub(now) < streamWriteTimeout-time.Second {
		s.deadline = now.Add(streamWriteTimeout)
		_ = s.rc.SetWriteDeadline(s.deadline)
	}
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	return s.rc.Flush()
}

// event sends one event.
func (s *stream) event(name, id string, data any) error {
	return s.write(encodeEvent(name, id, data))
}

// encodeEvent frames one event. Payloads are our own types: encoding them
// cannot fail short of a bug, which the tests would show as "null".
func encodeEvent(name, id string, data any) []byte {
	raw, err := json.Marshal(data)
	if err != nil {
		raw = []byte("null")
	}
	var b []byte
	if id != "" {
		b = fmt.Appendf(b, "id: %s\n", id)
	}
	return fmt.Appendf(b, "event: %s\ndata: %s\n\n", name, raw)
}

// comment sends a comment line, which clients ignore (heartbeats).
func (s *stream) comment(text string) error { return s.write([]byte(": " + text + "\n\n")) }

// retry tells the client how long to wait before reconnecting.
func (s *stream) retry(ms int) error { return s.write(fmt.Appendf(nil, "retry: %d\n\n", ms)) }
