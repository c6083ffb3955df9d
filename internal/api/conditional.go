package api

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// etagged are the operations that answer If-None-Match.
var etagged = map[string]bool{"get-task": true, "get-schedule": true, "list-tasks": true}

// clockFields grow with the clock alone (a task's wait and run time); the
// ETag leaves them out, so polling an unchanged task gets 304.
var clockFields = []string{"wait_seconds", "run_seconds"}

func documentConditional(op *huma.Operation) {
	op.Parameters = append(op.Parameters, &huma.Param{
		Name: "If-None-Match", In: "header", Schema: &huma.Schema{Type: huma.TypeString},
		Description: "ETags from earlier responses; when one still matches, the answer is 304 with no body",
	})
	for _, r := range successResponses(op) {
		addHeader(r, "ETag", "Weak validator of the body, "+
			"leaving out wait_seconds and run_seconds (they grow with the clock): send it back in If-None-Match")
	}
	if op.Responses["304"] == nil {
		op.Responses["304"] = &huma.Response{Description: "Not Modified: an If-None-Match ETag still matches; no body",
			Headers: map[string]*huma.Param{"ETag": {Schema: &huma.Schema{Type: huma.TypeString}}}}
	}
}

// conditional is Huma middleware for etagged operations: it sets the ETag
// of a 200 and answers 304 when If-None-Match holds it.
func conditional() func(huma.Context, func(huma.Context)) {
	return func(hctx huma.Context, next func(huma.Context)) {
		if !etagged[hctx.Operation().OperationID] {
			next(hctx)
			return
		}
		c := capture(hctx)
		next(c)
		if c.status != http.StatusOK {
			c.flush()
			return
		}
		tag := etag(c.body.Bytes())
		hctx.SetHeader("ETag", tag)
		if noneMatch(hctx.Header("If-None-Match"), tag) {
			hctx.SetStatus(http.StatusNotModified)
			return
		}
		c.flush()
	}
}

// etag is a weak ETag of a JSON body without its clock fields.
func etag(body []byte) string {
	var v any
	if err := json.Unmarshal(body, &v); err == nil {
		stripClock(v)
		if b, err := json.Marshal(v); err == nil { // map keys sorted: stable
			body = b
		}
	}
	sum := sha256.Sum256(body)
	return `W/"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}

func stripClock(v any) {
	switch v := v.(type) {
	case map[string]any:
		for _, f := range clockFields {
			delete(v, f)
		}
		for _, e := range v {
			stripClock(e)
		}
	case []any:
		for _, e := range v {
			stripClock(e)
		}
	}
}

// noneMatch reports whether an If-None-Match header holds tag (weak
// comparison, RFC 9110 13.1.2).
func noneMatch(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == strings.TrimPrefix(tag, "W/") {
			return true
		}
	}
	return false
}
