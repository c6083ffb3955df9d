package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/inboxq/inboxq/internal/classify"
	"github.com/inboxq/inboxq/internal/messages"
	"github.com/inboxq/inboxq/internal/store"
)

// Message is a stored message as the API shows it.
type Message struct {
	ID         string    `json:"id" doc:"The message's id here: its account, a dot, and Gmail's id"`
	AccountID  int64     `json:"account_id" doc:"The account it was synced from"`
	GmailID    string    `json:"gmail_id" doc:"Gmail's message id"`
	ThreadID   string    `json:"thread_id" doc:"Gmail's thread id"`
	From       string    `json:"from" doc:"The From header as Gmail returns it"`
	To         string    `json:"to" doc:"The To header"`
	Subject    string    `json:"subject" doc:"The Subject header"`
	Snippet    string    `json:"snippet" doc:"Gmail's snippet: the start of the text (inboxq stores no bodies)"`
	Date       time.Time `json:"date" doc:"Gmail's internal date (when it was received)"`
	Labels     []string  `json:"labels" doc:"Gmail label ids, e.g. INBOX, UNREAD, CATEGORY_SOCIAL"`
	Unread     bool      `json:"unread" doc:"Carries Gmail's UNREAD label"`
	Category   string    `json:"category,omitempty" enum:"primary,social,promotions,updates,forums,newsletters,spam" doc:"The category shown: your correction, else the classifier's; absent before classification"`
	Confidence *float32  `json:"confidence,omitempty" doc:"How sure the deciding stage is, 0 to 1 (1 for your own correction)"`
	Source     string    `json:"source,omitempty" enum:"rule,model,llm,person" doc:"What decided: a rule, a model (the spam model or your own), the LLM, or you"`
	Rule       string    `json:"rule,omitempty" doc:"The rule or stage that decided, e.g. gmail-label:CATEGORY_SOCIAL, sender-rule:news@example.com, user-model, bulk-sender"`
}

func messageOf(m messages.Message) Message {
	unread := false
	for _, l := range m.Labels {
		unread = unread || l == "UNREAD"
	}
	return Message{ID: m.Key.String(), AccountID: m.Account, GmailID: m.Key.ID, ThreadID: m.ThreadID, From: m.From, To: m.To,
		Subject: m.Subject, Snippet: m.Snippet, Date: m.Date, Labels: m.Labels, Unread: unread,
		Category: m.Category, Confidence: m.Confidence, Source: m.Source, Rule: m.Rule}
}

// MessageDetail is one message with why it got its category.
type MessageDetail struct {
	Message
	ListUnsubscribe string             `json:"list_unsubscribe,omitempty" doc:"The List-Unsubscribe header: bulk mail"`
	ListID          string             `json:"list_id,omitempty" doc:"The List-Id header: the mailing list it came from"`
	Precedence      string             `json:"precedence,omitempty" doc:"The Precedence header (bulk, list, junk)"`
	AuthResults     string             `json:"authentication_results,omitempty" doc:"The Authentication-Results header (SPF, DKIM, DMARC)"`
	Machine         string             `json:"machine_category,omitempty" doc:"The classifier's own category, also when you corrected it"`
	SpamProbability *float32           `json:"spam_probability,omitempty" doc:"The spam model's calibrated probability that it is spam"`
	ModelVersion    string             `json:"model_version,omitempty" doc:"The model that scored it (base, and +user.N with your own model)"`
	ClassifiedAt    *time.Time         `json:"classified_at,omitempty" doc:"When the classifier last decided; absent before"`
	CorrectedAt     *time.Time         `json:"corrected_at,omitempty" doc:"When you corrected it; absent if you did not"`
	Why             string             `json:"why" doc:"What decided its category, in a sentence"`
	Features        []classify.Feature `json:"features" doc:"The words that weighed most in the spam model's score, toward its verdict (weight in log-odds toward spam)"`
}

// MessageListInput filters and pages the caller's messages.
type MessageListInput struct {
	PageInput
	AccountID int64     `query:"account_id" minimum:"0" doc:"Only this account's messages (0 or absent: all your accounts)"`
	Category  string    `query:"category" enum:"primary,social,promotions,updates,forums,newsletters,spam,unclassified" doc:"Only this category (unclassified: not yet classified)"`
	Sender    string    `query:"sender" maxLength:"320" doc:"Only senders whose From header contains this (any case)"`
	Label     string    `query:"label" maxLength:"256" doc:"Only messages with this Gmail label id"`
	Unread    bool      `query:"unread" doc:"Only unread messages"`
	Since     time.Time `query:"since" doc:"Received at or after this time (RFC 3339)"`
	Until     time.Time `query:"until" doc:"Received before this time (RFC 3339)"`
	Q         string    `query:"q" maxLength:"200" doc:"Words to find in subject, sender and snippet (PostgreSQL web search syntax: \"quoted phrase\", -word, or)"`
}

// MessageListOutput is a page of messages.
type MessageListOutput struct {
	Body struct {
		Messages   []Message `json:"messages" doc:"Newest first"`
		NextCursor string    `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
	}
}

// MessageIDInput names a message.
type MessageIDInput struct {
	ID string `path:"id" maxLength:"100" doc:"The message's id: its account, a dot, and Gmail's id (as listed)"`
}

// MessageOutput is one message.
type MessageOutput struct {
	Body MessageDetail
}

// CategoryCount is one category's messages.
type CategoryCount struct {
	Category string `json:"category" enum:"primary,social,promotions,updates,forums,newsletters,spam,unclassified" doc:"The category (unclassified: not yet classified)"`
	Messages int64  `json:"messages" doc:"Your messages it shows"`
	Unread   int64  `json:"unread" doc:"Of those, unread"`
}

// CountsInput scopes the counts.
type CountsInput struct {
	AccountID int64 `query:"account_id" minimum:"0" doc:"Only this account (0 or absent: all your accounts)"`
}

// CountsOutput counts the caller's messages per category.
type CountsOutput struct {
	Body struct {
		Categories []CategoryCount `json:"categories" doc:"Every category, in the dashboard's order, then unclassified"`
		Total      int64           `json:"total" doc:"All your messages (of the account, if given)"`
	}
}

// FeedbackBody is a correction of one message.
type FeedbackBody struct {
	Category string `json:"category" enum:"primary,social,promotions,updates,forums,newsletters,spam" doc:"Where the message belongs"`
	Always   string `json:"always,omitempty" enum:"sender,domain" doc:"Also make a rule: always put mail from this sender's address (sender) or domain (domain) in this category"`
}

// FeedbackInput corrects one message.
type FeedbackInput struct {
	MessageIDInput
	Body FeedbackBody
}

// FeedbackOutput is the corrected message.
type FeedbackOutput struct {
	Body struct {
		Message Message     `json:"message" doc:"The message, showing your category"`
		Rule    *SenderRule `json:"rule,omitempty" doc:"The sender rule made, when always was given"`
		TaskID  int64       `json:"task_id" doc:"The reclassify_with_feedback task that learns from it (shared by corrections made close together)"`
	}
}

// BulkFeedbackInput corrects many messages.
type BulkFeedbackInput struct {
	Body struct {
		IDs      []string `json:"ids" minItems:"1" maxItems:"1000" doc:"Message ids, as listed"`
		Category string   `json:"category" enum:"primary,social,promotions,updates,forums,newsletters,spam,clear" doc:"Where they belong; clear removes your corrections"`
	}
}

// BulkFeedbackOutput says what a bulk correction did.
type BulkFeedbackOutput struct {
	Body struct {
		Updated int      `json:"updated" doc:"Messages corrected"`
		Missing []string `json:"missing" doc:"Ids you have no such message for (nothing was done for them)"`
		TaskID  int64    `json:"task_id" doc:"The reclassify_with_feedback task that learns from it"`
	}
}

// SenderRule is "always put this sender in ...".
type SenderRule struct {
	ID        int64     `json:"id" doc:"Rule id"`
	Sender    string    `json:"sender" doc:"An address, or a domain (which covers its subdomains)"`
	Category  string    `json:"category" enum:"primary,social,promotions,updates,forums,newsletters,spam" doc:"Where its mail goes"`
	CreatedAt time.Time `json:"created_at" doc:"When it was made (or last changed)"`
}

func ruleOf(r store.ClassifyRule) SenderRule {
	return SenderRule{ID: r.ID, Sender: r.Sender, Category: r.Category, CreatedAt: r.CreatedAt}
}

// RuleListOutput lists the caller's rules.
type RuleListOutput struct {
	Body struct {
		Rules []SenderRule `json:"rules" doc:"By sender"`
	}
}

// RuleAddInput makes a sender rule.
type RuleAddInput struct {
	Body struct {
		Sender   string `json:"sender" minLength:"3" maxLength:"320" doc:"An address (news@example.com), or a domain (example.com), which covers its subdomains"`
		Category string `json:"category" enum:"primary,social,promotions,updates,forums,newsletters,spam" doc:"Where its mail goes"`
	}
}

// RuleOutput is one rule.
type RuleOutput struct {
	Body SenderRule
}

// RuleIDInput names a rule.
type RuleIDInput struct {
	ID int64 `path:"id" minimum:"1" doc:"Rule id"`
}

func registerMessages(api huma.API, d Deps) {
	if d.Messages == nil {
		return
	}
	svc := *d.Messages
	tags := []string{"Messages"}
	huma.Register(api, huma.Operation{
		OperationID: "list-messages", Method: http.MethodGet, Path: Prefix + "/messages",
		Summary: "List your messages",
		Description: "Your stored messages (metadata and snippet), newest first, with the category each shows. Filters combine; " +
			"q searches subject, sender and snippet with PostgreSQL full text search.",
		Tags: tags, Security: bearer, Errors: []int{http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *MessageListInput) (*MessageListOutput, error) {
		f := messages.Filter{Category: in.Category, Sender: in.Sender, Label: in.Label, UnreadOnly: in.Unread, Query: in.Q}
		if in.AccountID > 0 {
			f.Account = &in.AccountID
		}
		if !in.Since.IsZero() {
			f.Since = &in.Since
		}
		if !in.Until.IsZero() {
			f.Until = &in.Until
		}
		ms, next, err := svc.List(ctx, principal(ctx).UserID, f, in.Cursor, in.Limit)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &MessageListOutput{}
		out.Body.NextCursor = next
		out.Body.Messages = make([]Message, len(ms))
		for i, m := range ms {
			out.Body.Messages[i] = messageOf(m)
		}
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "count-messages-by-category", Method: http.MethodGet, Path: Prefix + "/messages/counts",
		Summary: "Count your messages per category", Description: "How many of your messages (and how many unread) each category shows.",
		Tags: tags, Security: bearer,
	}, func(ctx context.Context, in *CountsInput) (*CountsOutput, error) {
		var acct *int64
		if in.AccountID > 0 {
			acct = &in.AccountID
		}
		cs, err := svc.Counts(ctx, principal(ctx).UserID, acct)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		by := map[string]messages.Count{}
		for _, c := range cs {
			by[c.Category] = c
		}
		out := &CountsOutput{}
		for _, c := range classify.Categories {
			n := by[string(c)]
			out.Body.Categories = append(out.Body.Categories, CategoryCount{Category: string(c), Messages: n.Messages, Unread: n.Unread})
			out.Body.Total += n.Messages
		}
		u := by[""]
		out.Body.Categories = append(out.Body.Categories, CategoryCount{Category: "unclassified", Messages: u.Messages, Unread: u.Unread})
		out.Body.Total += u.Messages
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "get-message", Method: http.MethodGet, Path: Prefix + "/messages/{id}",
		Summary: "Get a message and why it got its category",
		Description: "The message's metadata, the category it shows, the classifier's own decision, what decided (why, in a sentence) " +
			"and the words that weighed most in the spam model's score.",
		Tags: tags, Security: bearer, Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *MessageIDInput) (*MessageOutput, error) {
		k, err := messages.ParseKey(in.ID, "path.id")
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		m, err := svc.Get(ctx, principal(ctx).UserID, k)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &MessageOutput{Body: MessageDetail{Message: messageOf(m.Message), ListUnsubscribe: m.ListUnsubscribe, ListID: m.ListID,
			Precedence: m.Precedence, AuthResults: m.AuthResults, Machine: m.Machine, SpamProbability: m.SpamProbability,
			ModelVersion: m.ModelVersion, ClassifiedAt: m.ClassifiedAt, CorrectedAt: m.CorrectedAt, Why: m.Why, Features: m.Features}}
		if out.Body.Features == nil {
			out.Body.Features = []classify.Feature{}
		}
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "correct-message", Method: http.MethodPost, Path: Prefix + "/messages/{id}/feedback",
		Summary: "Correct a message's category",
		Description: "Stores your category at once (the message shows it from now on, and no classifier overrides it) and, a few seconds later, " +
			"retrains your own model and re-scores your mail with it (reclassify_with_feedback). With always, also makes a sender rule.",
		Tags: tags, Security: bearer, Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *FeedbackInput) (*FeedbackOutput, error) {
		k, err := messages.ParseKey(in.ID, "path.id")
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		owner := principal(ctx).UserID
		res, err := svc.Correct(ctx, owner, messages.Correction{Keys: []messages.Key{k}, Category: in.Body.Category, Always: messages.Always(in.Body.Always)})
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		m, err := svc.Get(ctx, owner, k)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &FeedbackOutput{}
		out.Body.Message, out.Body.TaskID = messageOf(m.Message), res.TaskID
		if res.Rule != nil {
			r := ruleOf(*res.Rule)
			out.Body.Rule = &r
		}
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "clear-message-feedback", Method: http.MethodDelete, Path: Prefix + "/messages/{id}/feedback",
		Summary: "Remove your correction", Description: "The message shows the classifier's category again; your model forgets the correction.",
		Tags: tags, Security: bearer, DefaultStatus: http.StatusNoContent, Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *MessageIDInput) (*struct{}, error) {
		k, err := messages.ParseKey(in.ID, "path.id")
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		_, err = svc.Correct(ctx, principal(ctx).UserID, messages.Correction{Keys: []messages.Key{k}})
		return nil, problem(ctx, d.Logger, err)
	})

	huma.Register(api, huma.Operation{
		OperationID: "correct-messages", Method: http.MethodPost, Path: Prefix + "/messages/feedback",
		Summary: "Correct many messages", Description: "Puts up to 1,000 messages in one category (or clears your corrections), then learns from it as one correction would.",
		Tags: tags, Security: bearer, Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *BulkFeedbackInput) (*BulkFeedbackOutput, error) {
		keys := make([]messages.Key, len(in.Body.IDs))
		for i, id := range in.Body.IDs {
			k, err := messages.ParseKey(id, "body.ids["+strconv.Itoa(i)+"]")
			if err != nil {
				return nil, problem(ctx, d.Logger, err)
			}
			keys[i] = k
		}
		cat := in.Body.Category
		if cat == "clear" {
			cat = ""
		}
		res, err := svc.Correct(ctx, principal(ctx).UserID, messages.Correction{Keys: keys, Category: cat})
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &BulkFeedbackOutput{}
		out.Body.Updated, out.Body.TaskID, out.Body.Missing = len(res.Updated), res.TaskID, []string{}
		for _, k := range res.Missing {
			out.Body.Missing = append(out.Body.Missing, k.String())
		}
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "list-sender-rules", Method: http.MethodGet, Path: Prefix + "/classification/rules",
		Summary: "List your sender rules", Description: "Your \"always put this sender in ...\" rules; they decide before any model.",
		Tags: tags, Security: bearer,
	}, func(ctx context.Context, _ *struct{}) (*RuleListOutput, error) {
		rs, err := svc.Rules(ctx, principal(ctx).UserID)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &RuleListOutput{}
		out.Body.Rules = make([]SenderRule, len(rs))
		for i, r := range rs {
			out.Body.Rules[i] = ruleOf(r)
		}
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "add-sender-rule", Method: http.MethodPost, Path: Prefix + "/classification/rules",
		Summary: "Always put a sender in a category",
		Description: "Makes (or changes) your rule for an address or a domain, then re-scores your mail with it (reclassify_with_feedback). " +
			"The Senders page uses it.",
		Tags: tags, Security: bearer, Errors: []int{http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *RuleAddInput) (*RuleOutput, error) {
		r, err := svc.AddRule(ctx, principal(ctx).UserID, in.Body.Sender, in.Body.Category)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		return &RuleOutput{Body: ruleOf(r)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "delete-sender-rule", Method: http.MethodDelete, Path: Prefix + "/classification/rules/{id}",
		Summary: "Delete a sender rule", Description: "Deletes the rule and re-scores your mail without it (reclassify_with_feedback).",
		Tags: tags, Security: bearer, DefaultStatus: http.StatusNoContent, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *RuleIDInput) (*struct{}, error) {
		return nil, problem(ctx, d.Logger, svc.DeleteRule(ctx, principal(ctx).UserID, in.ID))
	})
}
