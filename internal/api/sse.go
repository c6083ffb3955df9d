package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// streamDoc documents a text/event-stream response the way Huma's sse
// package does (an array of oneOf {event, data, id, retry}), so clients
// generated from the document type every event. The stream itself is
// written by stream below: it needs string event ids, comments for
// heartbeats and per-write deadlines, which Huma's sse writer lacks.
func streamDoc(api huma.API, op *huma.Operation, events map[string]any) {
	var variants []*huma.Schema
	for name, v := range events {
		variants = append(variants, &huma.Schema{
			Title: "Event " + name,
			Type:  huma.TypeObject,
			Properties: map[string]*huma.Schema{
				"id":    {Type: huma.TypeString, Description: "Event id; send it back as Last-Event-ID to resume."},
				"event": {Type: huma.TypeString, Description: "The event name.", Extensions: map[string]any{"const": name}},
				"data":  api.OpenAPI().Components.Schemas.Schema(reflect.TypeOf(v), true, name),
				"retry": {Type: huma.TypeInteger, Description: "Reconnection delay hint in milliseconds."},
			},
			Required: []string{"data", "event"},
		})
	}
	slices.SortFunc(variants, func(a, b *huma.Schema) int { return strings.Compare(a.Title, b.Title) })
	op.Responses = map[string]*huma.Response{"200": {
		Description: "A stream of Server-Sent Events. A comment line is sent about every 15 s as a heartbeat.",
		Content: map[string]*huma.MediaType{"text/event-stream": {Schema: &huma.Schema{
			Title: "Server Sent Events", Type: huma.TypeArray,
			Items: &huma.Schema{Extensions: map[string]any{"oneOf": variants}},
		}}},
	}}
}

// stream writes Server-Sent Events.
type stream struct {
	w  io.Writer
	rc *http.ResponseController
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
// off instead of holding the handler forever.
const streamWriteTimeout = 10 * time.Second

func (s *stream) write(b []byte) error {
	_ = s.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
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
