package main

import (
	"log/slog"
	"net/http"

	"github.com/inboxq/inboxq/internal/config"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/llm"
	"github.com/inboxq/inboxq/internal/store"
)

// demoLLMPath is where the demo's Gmail server also answers as an
// OpenAI-compatible endpoint (internal/llm/fakellm), so the demo shows the
// LLM stage without a key or a network.
const (
	demoLLMPath  = "/llm"
	demoLLMModel = "inboxq-demo-classifier"
)

// asker builds the LLM stage of classification: the configured endpoint,
// else the demo's fake in demo mode, else none.
func asker(cfg config.Config, dm *demo, st *store.Store, logger *slog.Logger) jobs.Asker {
	c := cfg.LLM
	if !c.Enabled() && dm != nil {
		c.BaseURL, c.Model = dm.url+demoLLMPath+"/v1", demoLLMModel
	}
	if !c.Enabled() {
		return nil
	}
	logger.Info("llm_stage", slog.String("base_url", c.BaseURL), slog.String("model", c.Model))
	return llm.Asker{Client: llm.New(llm.Config{BaseURL: c.BaseURL, Model: c.Model, APIKey: c.APIKey,
		RequestsPerMinute: c.RequestsPerMinute, TokensPerMinute: c.TokensPerMinute, UserTokensPerDay: c.UserTokensPerDay},
		st, http.DefaultClient)}
}
