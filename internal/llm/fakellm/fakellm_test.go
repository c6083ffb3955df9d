package fakellm_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/llm/fakellm"
)

// post sends body to the fake and decodes the JSON answer.
func post(t *testing.T, h http.Handler, path, key, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out), rec.Body.String())
	return rec.Code, rec.Header(), out
}

const schemaFormat = `"response_format":{"type":"json_schema","json_schema":{"name":"x","strict":true,"schema":{"type":"object"}}}`

func request(messages string) string {
	user, _ := json.Marshal(`{"messages":` + messages + `}`)
	return `{"model":"m","messages":[{"role":"system","content":"sort"},{"role":"user","content":` + string(user) + `}],` + schemaFormat + `}`
}

func TestAnswersEachMessageWithUsage(t *testing.T) {
	t.Parallel()
	f := fakellm.New("k")
	code, _, out := post(t, f, fakellm.Path, "k", request(`[{"id":"1","subject":"Bitcoin lottery"},{"id":"2","subject":"hi","body":"your receipt"}]`))
	require.Equal(t, http.StatusOK, code)
	choice := out["choices"].([]any)[0].(map[string]any)
	var answer struct {
		Results []struct {
			ID, Category string
			Confidence   float64
		}
	}
	require.NoError(t, json.Unmarshal([]byte(choice["message"].(map[string]any)["content"].(string)), &answer))
	require.Len(t, answer.Results, 2)
	require.Equal(t, "spam", answer.Results[0].Category)
	require.Equal(t, "updates", answer.Results[1].Category)
	usage := out["usage"].(map[string]any)
	require.Positive(t, usage["prompt_tokens"])
	require.Equal(t, usage["total_tokens"], usage["prompt_tokens"].(float64)+usage["completion_tokens"].(float64))
	require.Equal(t, 1, f.Requests())
}

func TestErrorsHaveOpenAIsShape(t *testing.T) {
	t.Parallel()
	f := fakellm.New("k")
	errorOf := func(out map[string]any) map[string]any { return out["error"].(map[string]any) }

	code, _, out := post(t, f, fakellm.Path, "wrong", request(`[]`))
	require.Equal(t, http.StatusUnauthorized, code)
	require.Equal(t, "invalid_api_key", errorOf(out)["code"])
	require.Equal(t, "invalid_request_error", errorOf(out)["type"])
	require.NotEmpty(t, errorOf(out)["message"])

	code, _, out = post(t, f, fakellm.Path, "k", `{"model":"m","messages":[{"role":"user","content":"{\"messages\":[]}"}]}`)
	require.Equal(t, http.StatusBadRequest, code, "response_format json_schema is required")
	require.Contains(t, errorOf(out)["message"], "json_schema")

	code, _, _ = post(t, f, "/v1/completions", "k", request(`[]`))
	require.Equal(t, http.StatusNotFound, code)

	f.FailNext(1, http.StatusTooManyRequests, 1500*time.Millisecond)
	code, h, out := post(t, f, fakellm.Path, "k", request(`[]`))
	require.Equal(t, http.StatusTooManyRequests, code)
	require.Equal(t, "2", h.Get("Retry-After"))
	require.Equal(t, "rate_limit_exceeded", errorOf(out)["code"])
	code, _, _ = post(t, f, fakellm.Path, "k", request(`[]`))
	require.Equal(t, http.StatusOK, code, "only the next n fail")
}

func TestMalformedNextAnswersText(t *testing.T) {
	t.Parallel()
	f := fakellm.New("")
	f.MalformedNext(1)
	code, _, out := post(t, f, fakellm.Path, "", request(`[{"id":"1","subject":"hi"}]`))
	require.Equal(t, http.StatusOK, code)
	content := out["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"].(string)
	require.False(t, json.Valid([]byte(content)))
	require.Contains(t, string(f.LastRequest()), `"subject\":\"hi\"`)
}

func TestCategorize(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ subject, want string }{
		{"Claim your bitcoin now", "spam"},
		{"March newsletter (unsubscribe below)", "newsletters"},
		{"50% OFF everything", "promotions"},
		{"Someone viewed your LinkedIn profile", "social"},
		{"Your order #123 has shipped", "updates"},
		{"Dinner on Friday?", "primary"},
	} {
		got, reason := fakellm.Categorize(c.subject, "", "", "")
		require.Equal(t, c.want, got, c.subject)
		require.NotEmpty(t, reason)
	}
}
