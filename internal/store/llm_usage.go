package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// LLMUsage is what the LLM stage spent for a user on a day: requests sent
// and the tokens the endpoint reported.
type LLMUsage struct {
	Requests, PromptTokens, CompletionTokens int64
}

// LLMUsageAdd adds u to the user's usage on day (its UTC date).
func (s *Store) LLMUsageAdd(ctx context.Context, userID int64, day time.Time, u LLMUsage) error {
	err := s.q.LLMUsageAdd(ctx, dbsqlc.LLMUsageAddParams{
		UserID: userID, Day: utcDate(day),
		Requests: u.Requests, PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens,
	})
	return translate(err, "recording llm usage")
}

// LLMUsageGet returns the user's usage on day (its UTC date); zeros when
// nothing was spent.
func (s *Store) LLMUsageGet(ctx context.Context, userID int64, day time.Time) (LLMUsage, error) {
	r, err := s.q.LLMUsageGet(ctx, dbsqlc.LLMUsageGetParams{UserID: userID, Day: utcDate(day)})
	if err != nil {
		return LLMUsage{}, translate(err, "reading llm usage")
	}
	return LLMUsage{Requests: r.Requests, PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens}, nil
}

// utcDate is t's calendar date in UTC.
func utcDate(t time.Time) pgtype.Date {
	y, m, d := t.UTC().Date()
	return pgtype.Date{Time: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), Valid: true}
}
