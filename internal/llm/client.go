package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/inboxq/inboxq/internal/store"
)

// Retry policy. The SDK's own retries are off: every attempt goes through
// the limiter, and a 429 blocks the bucket for every process.
const (
	// maxTransientRetries is how many times a 5xx, a timeout or a broken
	// connection is retried (4 attempts in all).
	maxTransientRetries = 3
	// backoffBase is the first retry's delay, doubled each time, jittered.
	backoffBase = 250 * time.Millisecond
	// maxRateLimitRetries is how many short 429s in a row are waited out
	// in place before the batch is handed back as *RateLimitedError.
	maxRateLimitRetries = 5
	// defaultRetryAfter is the wait after a 429 that does not say.
	defaultRetryAfter = time.Second
)

// Client asks an OpenAI-compatible endpoint to classify messages. It is
// safe for concurrent use.
type Client struct {
	cfg     Config
	st      *store.Store
	chat    openai.ChatCompletionService
	limiter *limiter
	schema  map[string]any
	// schemaBytes is the schema's size, for the token estimate.
	schemaBytes int
}

// New returns a client for cfg (zero fields take their defaults) that
// records usage and keeps its budgets in st and sends requests with
// httpClient (nil: a plain http.Client; the per-request timeout is
// Config.Timeout either way).
func New(cfg Config, st *store.Store, httpClient *http.Client) *Client {
	cfg = cfg.withDefaults()
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	opts := []option.RequestOption{
		option.WithBaseURL(cfg.BaseURL),
		option.WithHTTPClient(httpClient),
		option.WithMaxRetries(0),
	}
	if cfg.APIKey != "" {
		opts = append(opts, option.WithAPIKey(cfg.APIKey))
	}
	schema := answerSchema()
	raw, _ := json.Marshal(schema) // a literal of maps, strings and slices: cannot fail
	return &Client{
		cfg: cfg, st: st,
		// The service alone, not openai.NewClient: that one reads
		// OPENAI_* variables from the environment, and configuration here
		// comes only from Config.
		chat:        openai.NewChatCompletionService(opts...),
		limiter:     newLimiter(st, cfg),
		schema:      schema,
		schemaBytes: len(raw),
	}
}

// Classify asks about items in batches of Config.BatchSize for userID, whose
// budget pays. It returns answers only for the items given (an item the
// model did not answer, or answered outside the categories, is simply
// absent) and what was spent, which is also added to the user's llm_usage.
//
// A batch whose answer is unusable twice is left unanswered (counted in
// Usage.Malformed), without error. A limit that asks to wait longer than
// Config.MaxWait returns *RateLimitedError; an endpoint that keeps failing
// (5xx, timeouts) or refuses the request (401, 400...) returns an error. In
// both cases the answers of the batches already done come back too, so the
// caller can keep them and ask again for the rest.
func (c *Client) Classify(ctx context.Context, userID int64, items []Item) ([]Answer, Usage, error) {
	if !c.cfg.Enabled() {
		return nil, Usage{}, errors.New("llm: not configured (no endpoint or model)")
	}
	var (
		answers []Answer
		total   Usage
	)
	for start := 0; start < len(items); start += c.cfg.BatchSize {
		if err := ctx.Err(); err != nil {
			return answers, total, err
		}
		batch := items[start:min(start+c.cfg.BatchSize, len(items))]
		got, used, err := c.ask(ctx, userID, batch)
		answers = append(answers, got...)
		total.add(used)
		if used.Requests > 0 {
			// Recorded whatever happened: the requests were sent.
			rerr := c.st.LLMUsageAdd(context.WithoutCancel(ctx), userID, time.Now(), store.LLMUsage{
				Requests: int64(used.Requests), PromptTokens: int64(used.PromptTokens), CompletionTokens: int64(used.CompletionTokens),
			})
			if rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		if err != nil {
			return answers, total, err
		}
	}
	return answers, total, nil
}

// ask asks about one batch until it has an answer, the answer proved
// unusable twice, or an error says to stop.
func (c *Client) ask(ctx context.Context, userID int64, batch []Item) ([]Answer, Usage, error) {
	var used Usage
	user, err := userMessage(batch, c.cfg.SendBody)
	if err != nil {
		return nil, used, err
	}
	params := c.params(user)
	estimate := estimateTokens(user, len(batch), c.schemaBytes)

	// Settling corrects the budgets; when it fails (the database is
	// down), the estimate stays spent, and the usage record that follows
	// every batch, or the next take, reports the outage. Not worth an
	// answer already paid for.
	settle := func(g grant, spent int64) { _ = c.limiter.settle(context.WithoutCancel(ctx), g, float64(spent)) }

	var transient, rateLimited, malformed int
	for {
		g, err := c.limiter.take(ctx, userID, estimate)
		if err != nil {
			return nil, used, err
		}
		used.Requests++
		res, status, header, err := c.send(ctx, params)
		if ctx.Err() != nil {
			return nil, used, ctx.Err()
		}

		switch {
		case err == nil:
			used.PromptTokens += int(res.Usage.PromptTokens)
			used.CompletionTokens += int(res.Usage.CompletionTokens)
			// An endpoint that reports no usage leaves the estimate spent.
			if spent := res.Usage.PromptTokens + res.Usage.CompletionTokens; spent > 0 {
				settle(g, spent)
			}
			answers, perr := answerOf(res, batch)
			if perr == nil {
				return answers, used, nil
			}
			if malformed++; malformed >= 2 {
				used.Malformed += len(batch)
				return nil, used, nil
			}

		case status >= 200 && status < 300:
			// A 2xx the SDK could not read: as unusable as a bad answer.
			if malformed++; malformed >= 2 {
				used.Malformed += len(batch)
				return nil, used, nil
			}

		case status == http.StatusTooManyRequests:
			settle(g, 0)
			// At least the first backoff, so that "Retry-After: 0" is no
			// busy loop.
			retryAt := time.Now().Add(max(retryAfter(header, time.Now()), backoffBase))
			// Every process waits. If the block cannot be written, the
			// others find out from a 429 of their own: not worth failing
			// for (and a database that is down fails the next take).
			_ = c.limiter.block(context.WithoutCancel(ctx), retryAt)
			if rateLimited++; rateLimited > maxRateLimitRetries || time.Until(retryAt) > c.cfg.MaxWait {
				return nil, used, &RateLimitedError{RetryAt: retryAt, Bucket: bucketRequests}
			}
			// The next take waits for the block.

		case status >= 500 || status == http.StatusRequestTimeout || status == 0:
			// A server error, a timeout or a broken connection. An error
			// status was not processed, so its tokens go back; a timeout
			// may have been, so they stay spent.
			if status != 0 {
				settle(g, 0)
			}
			if transient++; transient > maxTransientRetries {
				return nil, used, fmt.Errorf("llm: %d attempts failed, the last: %w", transient, err)
			}
			if err := sleep(ctx, backoff(transient)); err != nil {
				return nil, used, err
			}

		default:
			// 400, 401, 403, 404...: asking again will not help.
			settle(g, 0)
			return nil, used, fmt.Errorf("llm: endpoint refused the request: %w", err)
		}
	}
}

// params is the chat completion request for one batch.
func (c *Client) params(user string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model: c.cfg.Model,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage(systemPrompt),
			openai.UserMessage(user),
		},
		ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{
			OfJSONSchema: &openai.ResponseFormatJSONSchemaParam{
				JSONSchema: openai.ResponseFormatJSONSchemaJSONSchemaParam{
					Name:   schemaName,
					Strict: openai.Bool(true),
					Schema: c.schema,
				},
			},
		},
	}
}

// send makes one attempt within Config.Timeout. It returns the HTTP status
// (0 when no response arrived: a timeout or a broken connection) and the
// response's header, read from the raw response because an error body
// that is not OpenAI's JSON (a proxy's page, Ollama's text) leaves the
// SDK's error without them.
func (c *Client) send(ctx context.Context, params openai.ChatCompletionNewParams) (*openai.ChatCompletion, int, http.Header, error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var raw *http.Response
	res, err := c.chat.New(actx, params, option.WithResponseInto(&raw))
	if raw == nil {
		if err != nil && actx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("no answer within %s", c.cfg.Timeout)
		}
		return res, 0, nil, err
	}
	if err != nil && raw.StatusCode >= 400 {
		err = describe(err, raw.StatusCode)
	}
	return res, raw.StatusCode, raw.Header, err
}

// describe says what an error status means, with the endpoint's message
// when it sent OpenAI's error JSON (never the request, which could carry
// the key).
func describe(err error, status int) error {
	msg := fmt.Sprintf("%d %s", status, http.StatusText(status))
	var apiErr *openai.Error
	if errors.As(err, &apiErr) && apiErr.Message != "" {
		msg += ": " + apiErr.Message
	}
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		msg += " (check the API key)"
	}
	return errors.New(msg)
}

// answerOf reads the first choice's answer.
func answerOf(res *openai.ChatCompletion, batch []Item) ([]Answer, error) {
	if len(res.Choices) == 0 {
		return nil, errors.New("answer has no choices")
	}
	m := res.Choices[0].Message
	if m.Refusal != "" {
		return nil, fmt.Errorf("model refused: %s", m.Refusal)
	}
	return parseAnswer(m.Content, batch)
}

// retryAfter reads how long a 429 asks to wait: OpenAI's retry-after-ms,
// else Retry-After in seconds or as an HTTP date, else a second.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	if v := h.Get("Retry-After"); v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
			return time.Duration(secs * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	return defaultRetryAfter
}

// backoff is the delay before the n-th retry: 250 ms doubled each time,
// from half to one and a half of that, so failing workers do not return
// together.
func backoff(n int) time.Duration {
	d := backoffBase << (n - 1)
	return d/2 + rand.N(d)
}
