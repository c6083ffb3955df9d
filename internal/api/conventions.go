package api

import (
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"
)

// The conventions every client may rely on (docs/architecture.md, "API
// conventions"): idempotency keys on operations that change something,
// ETags on single resources, one pagination style with Link headers, and
// rate-limit headers on create-task. They are implemented once, here and
// in the files named after each, as Huma middleware keyed on the operation,
// and declared in the document by one OnAddOperation hook, so handlers stay
// unaware of them.

// useConventions installs the middleware (after authenticate, which puts
// the principal in the context) and the hook that documents it; it must run
// before any operation is registered.
func useConventions(api huma.API, d Deps) {
	oapi := api.OpenAPI()
	oapi.OnAddOperation = append(oapi.OnAddOperation, documentConventions)
	api.UseMiddleware(
		idempotency(api, d),
		paging(api),
		conditional(),
		rateLimitHeaders(d),
	)
}

// documentConventions declares, per operation, the headers and responses
// the convention middleware adds.
func documentConventions(_ *huma.OpenAPI, op *huma.Operation) {
	if len(op.Security) == 0 {
		op.Security = anonymous
	}
	if idempotent(op) {
		documentIdempotency(op)
	}
	if paged(op) {
		for _, r := range successResponses(op) {
			addHeader(r, "Link", `RFC 8288 link to the next page, <…?cursor=…>; rel="next"; absent on the last page`)
		}
		addProblem(op, http.StatusUnprocessableEntity)
	}
	if etagged[op.OperationID] {
		documentConditional(op)
	}
	if op.OperationID == rateLimitedOp {
		for _, r := range successResponses(op) {
			documentRateLimit(r)
		}
		if r := op.Responses["429"]; r != nil {
			documentRateLimit(r)
		}
	}
}

// successResponses are the operation's 2xx responses.
func successResponses(op *huma.Operation) []*huma.Response {
	var out []*huma.Response
	for code, r := range op.Responses {
		if len(code) == 3 && code[0] == '2' {
			out = append(out, r)
		}
	}
	return out
}

func addHeader(r *huma.Response, name, doc string) {
	if r.Headers == nil {
		r.Headers = map[string]*huma.Param{}
	}
	schema := &huma.Schema{Type: huma.TypeString}
	if name == "RateLimit-Limit" || name == "RateLimit-Remaining" || name == "RateLimit-Reset" {
		schema = &huma.Schema{Type: huma.TypeInteger}
	}
	r.Headers[name] = &huma.Param{Description: doc, Schema: schema}
}

// addProblem declares an error response unless the operation already does,
// with the problem+json content its other errors have.
func addProblem(op *huma.Operation, status int) {
	code := http.StatusText(status)
	key := strconv.Itoa(status)
	if op.Responses == nil || op.Responses[key] != nil {
		return
	}
	var content map[string]*huma.MediaType
	for k, r := range op.Responses {
		if (k == "default" || k[0] == '4' || k[0] == '5') && r.Content != nil {
			content = r.Content
			break
		}
	}
	op.Responses[key] = &huma.Response{Description: code, Content: content}
}

// conventionsDoc is the part of the document's description about them.
const conventionsDoc = "Conventions: every response carries X-Request-Id (yours if you send a short token of letters, digits and -_.:, else a new one). " +
	"Operations that change something take an Idempotency-Key header, so a retry is safe. " +
	"get-task, get-schedule and list-tasks send a weak ETag and answer If-None-Match with 304. " +
	"Lists page with limit and cursor in, next_cursor out, and a Link header with rel=\"next\"; a cursor is opaque (a bad one is 422 at query.cursor). " +
	"create-task reports your rate bucket in RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset."

// tags describes every tag operations use; the docs page groups by them.
var tags = []*huma.Tag{
	{Name: "Tasks", Description: "Start, list, watch, cancel and retry background tasks, one at a time or many at once."},
	{Name: "Workflows", Description: "Graphs of tasks tracked as one (group, chain, chord): fan out, fan in, callbacks, cancel and retry of the whole."},
	{Name: "Dead letters", Description: "Tasks that failed for good, and running them again."},
	{Name: "Schedules", Description: "Recurring tasks started on a cron expression."},
	{Name: "Events", Description: "Server-sent event streams of task state and progress."},
	{Name: "Queues", Description: "Queues' depth and throughput; admins pause and resume them."},
	{Name: "Stats", Description: "Task statistics and the health monitor's latest check."},
	{Name: "Alerts", Description: "Things that need your attention, such as a mailbox that needs consent again."},
	{Name: "Accounts", Description: "Connecting Gmail accounts (OAuth) and what they hold."},
	{Name: "Messages", Description: "Your synced mail with its categories, why each message got one, your corrections and sender rules."},
	{Name: "Clusters", Description: "Groups of your messages that belong together (a newsletter, a service's notifications, a campaign), biggest first: each a bulk target."},
	{Name: "Analytics", Description: "Your mail per day and category, top senders, bulk removals and last syncs; tasks, failures, run times and quota per day for admins."},
	{Name: "Senders", Description: "The reputation of each address and domain you get mail from (0-100), with the factors that made it."},
	{Name: "Exports", Description: "Archives of your data written by export and backup tasks."},
	{Name: "Health", Description: "Liveness and readiness, without authentication."},
}
