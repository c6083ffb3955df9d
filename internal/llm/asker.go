package llm

import (
	"context"
	"errors"

	"github.com/inboxq/inboxq/internal/classify"
	"github.com/inboxq/inboxq/internal/jobs"
)

// Asker is the classify tasks' LLM stage (jobs.Asker) over a Client.
type Asker struct{ Client *Client }

// Ask asks about items. A rate limit becomes *jobs.RateLimited (the task
// snoozes, spending no attempt) and the answers of the batches done before
// it are returned with it; answers outside the categories are dropped.
func (a Asker) Ask(ctx context.Context, owner int64, items []jobs.AskItem) ([]jobs.AskAnswer, jobs.AskUsage, error) {
	in := make([]Item, len(items))
	for i, it := range items {
		in[i] = Item{ID: it.ID, From: it.From, Subject: it.Subject, Snippet: it.Snippet}
	}
	answers, u, err := a.Client.Classify(ctx, owner, in)
	out := make([]jobs.AskAnswer, 0, len(answers))
	for _, ans := range answers {
		if c, ok := classify.ParseCategory(ans.Category); ok {
			out = append(out, jobs.AskAnswer{ID: ans.ID, Category: c, Confidence: ans.Confidence})
		}
	}
	var rl *RateLimitedError
	if errors.As(err, &rl) {
		err = &jobs.RateLimited{RetryAt: rl.RetryAt}
	}
	return out, jobs.AskUsage{Requests: u.Requests, Tokens: u.PromptTokens + u.CompletionTokens}, err
}
