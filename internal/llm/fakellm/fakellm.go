// Package fakellm is a fake OpenAI-compatible chat completions endpoint,
// served as an [http.Handler], for tests and the demo mode: it answers the
// requests internal/llm makes (POST /v1/chat/completions with a strict
// json_schema response format, the messages as JSON in the user message)
// with a category per message from keyword rules, deterministic and free.
//
// Errors use OpenAI's JSON shape ({"error":{"message","type","param","code"}})
// so that the real openai-go client reports them as it would OpenAI's.
// Faults are injected with FailNext, MalformedNext and Delay; Requests and
// LastRequest serve assertions.
//
//	fake := fakellm.New("sk-test")
//	srv := httptest.NewServer(fake)
//	client := llm.New(llm.Config{BaseURL: srv.URL + "/v1", Model: "fake", APIKey: "sk-test"}, st, nil)
package fakellm

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Path is where the fake serves chat completions.
const Path = "/v1/chat/completions"

// Server is the fake endpoint. Its methods are safe for concurrent use.
type Server struct {
	key string

	mu             sync.Mutex
	failLeft       int
	failStatus     int
	failRetryAfter time.Duration
	malformedLeft  int
	delay          time.Duration
	requests       int
	last           []byte
}

// New returns a fake that requires "Authorization: Bearer apiKey", or no
// key at all when apiKey is empty.
func New(apiKey string) *Server { return &Server{key: apiKey} }

// FailNext makes the next n requests fail with status (429, 500, 503...),
// sending Retry-After (whole seconds, rounded up) when retryAfter > 0.
func (s *Server) FailNext(n, status int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failLeft, s.failStatus, s.failRetryAfter = n, status, retryAfter
}

// MalformedNext makes the next n answers' content something other than
// JSON (with status 200 and a well-formed envelope).
func (s *Server) MalformedNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.malformedLeft = n
}

// Delay makes every request wait d before it is answered (0: none). A
// client that gives up ends the wait.
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Requests returns how many requests arrived, whatever their answer.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// LastRequest returns the body of the last request that arrived.
func (s *Server) LastRequest() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.last...)
}

// chatRequest is the part of a chat completions request the fake reads.
type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	ResponseFormat *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Strict bool            `json:"strict"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
}

// message is one email as internal/llm sends it.
type message struct {
	ID, From, Subject, Snippet, Body string
}

// ServeHTTP answers POST /v1/chat/completions.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		writeError(w, http.StatusNotFound, "invalid_request_error", "unknown_url", "Unknown request URL: "+r.Method+" "+r.URL.Path)
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed", "Use POST.")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "Could not read the request body.")
		return
	}

	s.mu.Lock()
	s.requests++
	n := s.requests
	s.last = body
	delay := s.delay
	s.mu.Unlock()

	if s.key != "" && r.Header.Get("Authorization") != "Bearer "+s.key {
		writeError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.")
		return
	}
	s.mu.Lock()
	var failStatus int
	var retryAfter time.Duration
	if s.failLeft > 0 {
		s.failLeft--
		failStatus, retryAfter = s.failStatus, s.failRetryAfter
	}
	s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
	}
	if failStatus != 0 {
		if retryAfter > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(retryAfter.Seconds()))))
		}
		typ, code := "server_error", "server_error"
		if failStatus == http.StatusTooManyRequests {
			typ, code = "requests", "rate_limit_exceeded"
		}
		writeError(w, failStatus, typ, code, fmt.Sprintf("Injected failure (%d).", failStatus))
		return
	}

	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "We could not parse the JSON body of your request.")
		return
	}
	if req.Model == "" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "you must provide a model parameter")
		return
	}
	if rf := req.ResponseFormat; rf == nil || rf.Type != "json_schema" || rf.JSONSchema == nil || len(rf.JSONSchema.Schema) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "This fake requires response_format of type json_schema with a schema.")
		return
	}
	var system, user string
	for _, m := range req.Messages {
		text, err := contentText(m.Content)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request_error", "", "Invalid message content: "+err.Error())
			return
		}
		switch m.Role {
		case "system", "developer":
			system += text
		case "user":
			user = text
		}
	}
	var in struct {
		Messages *[]message `json:"messages"`
	}
	if err := json.Unmarshal([]byte(user), &in); err != nil || in.Messages == nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", `The user message must be JSON: {"messages":[...]}.`)
		return
	}

	content := answer(*in.Messages)
	s.mu.Lock()
	if s.malformedLeft > 0 {
		s.malformedLeft--
		content = "Sure! Here are the categories you asked for: primary, mostly."
	}
	s.mu.Unlock()
	prompt, completion := tokens(system)+tokens(user), tokens(content)
	writeJSON(w, http.StatusOK, map[string]any{
		"id":      fmt.Sprintf("chatcmpl-fake-%d", n),
		"object":  "chat.completion",
		"created": time.Now().Unix(),
		"model":   req.Model,
		"choices": []map[string]any{{
			"index":         0,
			"message":       map[string]any{"role": "assistant", "content": content, "refusal": nil},
			"logprobs":      nil,
			"finish_reason": "stop",
		}},
		"usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
	})
}

// contentText reads a message's content: a string, or text parts.
func contentText(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type, Text string
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", fmt.Errorf("want a string or text parts")
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

// rules are the keyword rules, first match wins.
var rules = []struct {
	category string
	keywords []string
}{
	{"spam", []string{"viagra", "winner", "lottery", "bitcoin"}},
	{"newsletters", []string{"unsubscribe", "newsletter"}},
	{"promotions", []string{"% off", "sale"}},
	{"social", []string{"linkedin", "facebook"}},
	{"updates", []string{"receipt", "order", "shipped"}},
}

// Categorize is the fake's rule for one message: the first keyword rule
// that matches its subject, sender, snippet or body (case-insensitive), with
// the keyword as the reason; else primary.
func Categorize(subject, from, snippet, body string) (category, reason string) {
	text := strings.ToLower(strings.Join([]string{subject, from, snippet, body}, " "))
	for _, r := range rules {
		for _, k := range r.keywords {
			if strings.Contains(text, k) {
				return r.category, fmt.Sprintf("mentions %q", k)
			}
		}
	}
	return "primary", "no bulk-mail keyword"
}

// answer is the structured answer for the messages.
func answer(msgs []message) string {
	type result struct {
		ID         string  `json:"id"`
		Category   string  `json:"category"`
		Confidence float64 `json:"confidence"`
		Reason     string  `json:"reason"`
	}
	results := make([]result, 0, len(msgs))
	for _, m := range msgs {
		cat, reason := Categorize(m.Subject, m.From, m.Snippet, m.Body)
		conf := 0.9
		if cat == "primary" {
			conf = 0.6
		}
		results = append(results, result{ID: m.ID, Category: cat, Confidence: conf, Reason: reason})
	}
	raw, _ := json.Marshal(map[string]any{"results": results})
	return string(raw)
}

// tokens counts a text's tokens the usual rough way: four bytes each.
func tokens(s string) int { return (len(s) + 3) / 4 }

func writeError(w http.ResponseWriter, status int, typ, code, msg string) {
	var c any
	if code != "" {
		c = code
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": c}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
