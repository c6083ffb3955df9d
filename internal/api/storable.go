package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/go-chi/chi/v5"
)

// storable refuses, with a 422 naming each place, any request whose input
// PostgreSQL cannot store: a NUL character or invalid UTF-8 in a query
// parameter, a path parameter, or any string or object key of a JSON body
// (escapes included: "\u0000" and lone surrogates are refused by jsonb).
// Checking here, once, means no handler and no query can meet such a
// string and turn it into a 500 halfway through a change.
//
// The body is read up to maxBody and put back for the handler; a larger
// one passes unread and gets its 413 from the handler. A body that is not
// JSON (by Content-Type) or does not parse passes too: the handler answers
// for it, and it cannot reach the database as a string.
func storable(mux *chi.Mux) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var errs []*huma.ErrorDetail
			errs = append(errs, checkPath(mux, r)...)
			errs = append(errs, checkQuery(r.URL.RawQuery)...)
			if r.Body != nil && r.Body != http.NoBody && jsonBody(r.Header.Get("Content-Type")) {
				body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
				if err != nil {
					writeProblem(w, http.StatusBadRequest, "cannot read the request body")
					return
				}
				if len(body) <= maxBody {
					errs = append(errs, checkJSON(body)...)
				}
				r.Body = readCloser{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
			}
			if len(errs) > 0 {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusUnprocessableEntity)
				_ = json.NewEncoder(w).Encode(huma.ErrorModel{
					Title:  http.StatusText(http.StatusUnprocessableEntity),
					Status: http.StatusUnprocessableEntity,
					Detail: "validation failed",
					Errors: errs,
				})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// readCloser reads the restored body and closes the original.
type readCloser struct {
	io.Reader
	io.Closer
}

// unstorable says why PostgreSQL cannot store s, or "" when it can.
func unstorable(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "must not contain a NUL character"
	}
	return ""
}

// checkPath checks the decoded path, naming the route's parameter when one
// holds the bad value.
func checkPath(mux *chi.Mux, r *http.Request) []*huma.ErrorDetail {
	if unstorable(r.URL.Path) == "" {
		return nil
	}
	rctx := chi.NewRouteContext()
	routePath := r.URL.RawPath
	if routePath == "" {
		routePath = r.URL.Path
	}
	var errs []*huma.ErrorDetail
	if mux.Find(rctx, r.Method, routePath) != "" {
		for i, key := range rctx.URLParams.Keys {
			v, err := url.PathUnescape(rctx.URLParams.Values[i])
			if err != nil {
				continue
			}
			if msg := unstorable(v); msg != "" {
				errs = append(errs, &huma.ErrorDetail{Location: "path." + key, Message: msg, Value: v})
			}
		}
	}
	if len(errs) == 0 {
		errs = append(errs, &huma.ErrorDetail{Location: "path", Message: unstorable(r.URL.Path), Value: r.URL.Path})
	}
	return errs
}

// checkQuery checks every query parameter's name and values. A query that
// does not parse is the handler's to refuse.
func checkQuery(raw string) []*huma.ErrorDetail {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil
	}
	var errs []*huma.ErrorDetail
	for key, vs := range q {
		if msg := unstorable(key); msg != "" {
			errs = append(errs, &huma.ErrorDetail{Location: "query", Message: "parameter name " + msg, Value: key})
			continue
		}
		for _, v := range vs {
			if msg := unstorable(v); msg != "" {
				errs = append(errs, &huma.ErrorDetail{Location: "query." + key, Message: msg, Value: v})
			}
		}
	}
	return errs
}

// jsonBody reports whether a request body is JSON: Huma reads a body
// without a Content-Type as JSON too.
func jsonBody(contentType string) bool {
	return contentType == "" || isJSON(contentType)
}

// jsonFrame is an open object or array while checkJSON walks a document.
type jsonFrame struct {
	loc    string // where the container is (body, body.args)
	object bool
	key    bool   // objects: the next string is a key
	field  string // objects: the current key
	index  int    // arrays: the next element's index
}

// at is the location of the value about to be read inside f.
func (f *jsonFrame) at() string {
	if f.object {
		return f.loc + "." + f.field
	}
	return fmt.Sprintf("%s[%d]", f.loc, f.index)
}

// done moves f past the value just read.
func (f *jsonFrame) done() {
	if f.object {
		f.key = true
	} else {
		f.index++
	}
}

// checkJSON walks a JSON document and reports every string and object key
// that cannot be stored, at Huma's locations (body.args.label,
// body.ids[2]). Each string's raw bytes are checked, not only its decoded
// value: encoding/json quietly turns invalid UTF-8 and lone surrogate
// escapes into U+FFFD, which would hide them.
func checkJSON(body []byte) []*huma.ErrorDetail {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var errs []*huma.ErrorDetail
	var stack []*jsonFrame
	loc := func() string { // where the next value goes
		if len(stack) == 0 {
			return "body"
		}
		return stack[len(stack)-1].at()
	}
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			return errs
		}
		if err != nil {
			return nil // malformed: the handler refuses it
		}
		var top *jsonFrame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' || t == '[' {
				stack = append(stack, &jsonFrame{loc: loc(), object: t == '{', key: t == '{'})
				continue
			}
			stack = stack[:len(stack)-1]
		case string:
			msg := badString(t, body[start:dec.InputOffset()])
			if top != nil && top.object && top.key {
				top.key = false
				top.field = t
				if msg != "" {
					errs = append(errs, &huma.ErrorDetail{Location: top.loc, Message: "property name " + msg, Value: t})
					// Keep NULs and invalid bytes out of the locations below.
					top.field = strings.ToValidUTF8(strings.ReplaceAll(t, "\x00", "\\u0000"), "\uFFFD")
				}
				continue
			}
			if msg != "" {
				errs = append(errs, &huma.ErrorDetail{Location: loc(), Message: msg, Value: t})
			}
		}
		if len(stack) > 0 {
			stack[len(stack)-1].done()
		}
	}
}

// badString says why a JSON string (decoded s, raw token bytes raw) cannot
// be stored, or "".
func badString(s string, raw []byte) string {
	if !utf8.Valid(raw) {
		return "must be valid UTF-8"
	}
	if msg := unstorable(s); msg != "" {
		return msg
	}
	// A U+FFFD the client did not send came from a lone surrogate escape
	// (\ud800), which jsonb refuses.
	if strings.ContainsRune(s, utf8.RuneError) && !bytes.ContainsRune(raw, utf8.RuneError) &&
		!bytes.Contains(bytes.ToLower(raw), []byte(`\ufffd`)) {
		return "must not contain an unpaired surrogate escape"
	}
	return ""
}
