// Package llm is the optional LLM stage of email classification: for the
// messages the local classifier (internal/classify) is unsure of, it asks an
// OpenAI-compatible chat completions endpoint (OpenAI, Ollama, vLLM) for a
// category, in batches, with a structured (JSON schema) answer.
//
// It owns the prompt and the answer's schema, the limiter (token buckets in
// PostgreSQL shared by every process: requests and tokens per minute for
// the deployment, tokens per day for each user), the retries, and the record
// of what each user spent (table llm_usage). A rate limit is never a
// failure: it comes back as *RateLimitedError with the time to try again,
// for the River job to snooze until.
//
// Only the subject, the sender and the snippet leave the server unless
// Config.SendBody is set.
package llm

import (
	"fmt"
	"time"
)

// Config configures a Client. Zero numbers take the defaults documented on
// each field.
type Config struct {
	// BaseURL is the endpoint's API root, such as https://api.openai.com/v1
	// or http://localhost:11434/v1 (Ollama).
	BaseURL string
	// Model is the model name the endpoint knows.
	Model string
	// APIKey is sent as a bearer token; empty sends none (a local Ollama).
	APIKey string
	// SendBody sends each message's body (cut to 2,000 characters) too;
	// by default only the subject, the sender and the snippet leave.
	SendBody bool
	// BatchSize is how many messages one request asks about; default 20.
	BatchSize int
	// RequestsPerMinute caps the requests of the whole deployment (one
	// bucket in PostgreSQL for every process); default 60.
	RequestsPerMinute int
	// TokensPerMinute caps the tokens of the whole deployment; default
	// 100,000.
	TokensPerMinute int
	// UserTokensPerDay caps each user's tokens over a day (a bucket that
	// refills continuously); default 200,000.
	UserTokensPerDay int
	// Timeout bounds one request; default 60 s.
	Timeout time.Duration
	// MaxWait is the longest one request waits in the process for the
	// limiter; a longer wait returns *RateLimitedError. Default 5 s.
	MaxWait time.Duration
}

// Enabled reports whether the LLM stage is configured (an endpoint and a
// model).
func (c Config) Enabled() bool { return c.BaseURL != "" && c.Model != "" }

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.BatchSize, 20)
	def(&c.RequestsPerMinute, 60)
	def(&c.TokensPerMinute, 100_000)
	def(&c.UserTokensPerDay, 200_000)
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 5 * time.Second
	}
	return c
}

// Item is one message to classify. ID is the caller's; only the fields the
// configuration allows are sent, each cut to a bounded length.
type Item struct {
	ID, Subject, From, Snippet, Body string
}

// Answer is the model's category for one item.
type Answer struct {
	// ID is the item's ID.
	ID string
	// Category is one of the categories (primary, social, promotions,
	// updates, forums, newsletters, spam).
	Category string
	// Confidence is the model's own, from 0 to 1.
	Confidence float64
	// Reason is the model's short explanation.
	Reason string
}

// Usage is what a Classify call spent.
type Usage struct {
	// Requests counts the requests sent, including failed attempts.
	Requests int
	// PromptTokens and CompletionTokens are the tokens the endpoint
	// reported.
	PromptTokens, CompletionTokens int
	// Malformed counts the items left unanswered because the answer to
	// their batch was unusable twice.
	Malformed int
}

func (u *Usage) add(v Usage) {
	u.Requests += v.Requests
	u.PromptTokens += v.PromptTokens
	u.CompletionTokens += v.CompletionTokens
	u.Malformed += v.Malformed
}

// RateLimitedError means a limit asks to wait longer than Config.MaxWait:
// the local budget of a bucket, or the endpoint's 429. The caller (a River
// job) snoozes until RetryAt; it is not a failure.
type RateLimitedError struct {
	// RetryAt is when to try again.
	RetryAt time.Time
	// Bucket names the limit: llm:requests, llm:tokens or
	// llm:user:<id>:tokens.
	Bucket string
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("llm rate limited by %s until %s", e.Bucket, e.RetryAt.Format(time.RFC3339))
}

// categories are the answers the model may give, in classify's order (a
// test keeps them equal to classify.Categories; this package does not import
// the classifier).
var categories = []string{"primary", "social", "promotions", "updates", "forums", "newsletters", "spam"}
