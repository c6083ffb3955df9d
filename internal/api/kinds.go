package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/inboxq/inboxq/internal/jobs"
)

// kindSchemas documents and validates each task kind's args. Every kind's
// args are a named schema in the OpenAPI document; the create-task and
// schedule bodies are a oneOf over the kinds, discriminated by "kind".
type kindSchemas struct {
	extras   map[reflect.Type]*huma.Schema // taskOptions, scheduleFields: built once
	registry huma.Registry
	args     map[string]*huma.Schema // kind → args schema (a $ref)
	owned    map[string]bool         // kinds whose args carry a hidden owner_id
	names    []string
}

// taskOptions are the create-task fields besides kind and args.
type taskOptions struct {
	Priority    int        `json:"priority,omitempty" minimum:"1" maximum:"4" doc:"1 (highest) to 4; the kind's default when absent"`
	RunAt       *time.Time `json:"run_at,omitempty" doc:"Start no earlier than this time; now when absent"`
	MaxAttempts int        `json:"max_attempts,omitempty" minimum:"1" maximum:"100" doc:"Attempts before the task fails; the kind's default when absent"`
}

// scheduleFields are the schedule body fields besides kind and args.
type scheduleFields struct {
	Name     string `json:"name" minLength:"1" maxLength:"100" doc:"A name for people, e.g. Nightly backup"`
	Cron     string `json:"cron" minLength:"1" maxLength:"200" doc:"Five fields (minute hour day month weekday), an optional leading seconds field, or a descriptor such as @hourly or @every 10m" example:"0 3 * * *"`
	Timezone string `json:"timezone,omitempty" default:"UTC" doc:"IANA time zone, e.g. Europe/Paris"`
	Priority int    `json:"priority,omitempty" minimum:"1" maximum:"4" default:"2" doc:"Priority of the tasks it starts, 1 (highest) to 4"`
	Enabled  *bool  `json:"enabled,omitempty" doc:"Default true"`
}

func newKindSchemas(r huma.Registry, kinds []jobs.Kind) *kindSchemas {
	ks := &kindSchemas{registry: r, args: map[string]*huma.Schema{}, owned: map[string]bool{}, extras: map[reflect.Type]*huma.Schema{}}
	for _, extra := range []any{taskOptions{}, scheduleFields{}} {
		t := reflect.TypeOf(extra)
		ks.extras[t] = r.Schema(t, false, "")
	}
	for _, k := range kinds {
		hint := argsSchemaName(k.Name)
		s := r.Schema(k.Args, true, hint)
		if s.Ref != "" {
			if target := r.SchemaFromRef(s.Ref); target != nil {
				if target.Description == "" {
					target.Description = k.Description
				}
				if target.Title == "" {
					target.Title = kindTitle(k)
				}
				if ex, ok := argsExample(k); ok && len(target.Examples) == 0 {
					target.Examples = []any{ex}
				}
			}
		}
		fieldTitles(r, k.Args, map[reflect.Type]bool{})
		ks.args[k.Name] = s
		ks.owned[k.Name] = k.Owned
		ks.names = append(ks.names, k.Name)
	}
	// Responses carry a task's args and result typed by its kind: a client
	// reads `kind`, then the matching schema. anyOf rather than oneOf:
	// kinds whose args are alike (e.g. none) would match more than one.
	args := &huma.Schema{Description: "A task's args: the args schema of its kind (see the task's kind). Never carries internal fields."}
	results := &huma.Schema{Description: "What a task recorded when it completed: the result schema of its kind."}
	seen := map[string]bool{}
	for _, k := range kinds {
		args.AnyOf = append(args.AnyOf, ks.args[k.Name])
		if k.Result == nil {
			continue
		}
		rs := r.Schema(k.Result, true, argsSchemaName(k.Name)+"Result")
		if !seen[rs.Ref] {
			seen[rs.Ref] = true
			results.AnyOf = append(results.AnyOf, rs)
		}
	}
	if len(results.AnyOf) == 0 {
		results.Type = huma.TypeObject
	}
	r.Map()["TaskArgs"], r.Map()["TaskResult"] = args, results
	return ks
}

// kindTitle is a kind's name for people: its Title, else its name in
// words (sync_user_emails: "Sync user emails").
func kindTitle(k jobs.Kind) string {
	if k.Title != "" {
		return k.Title
	}
	words := strings.ReplaceAll(k.Name, "_", " ")
	return strings.ToUpper(words[:1]) + words[1:]
}

// fieldTitles copies the title tags of t's fields (and of the struct types
// it holds) onto their properties in the registered schemas: Huma reads
// doc but not title, and a form shows "Gmail account", not account_id.
func fieldTitles(r huma.Registry, t reflect.Type, seen map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return
	}
	seen[t] = true
	s := r.Schema(t, true, "")
	if s != nil && s.Ref != "" {
		s = r.SchemaFromRef(s.Ref)
	}
	if s == nil {
		return
	}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		fieldTitles(r, f.Type, seen)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if title := f.Tag.Get("title"); title != "" && name != "" && s.Properties[name] != nil {
			s.Properties[name].Title = title
		}
	}
}

// extraSchema is the inline schema of taskOptions or scheduleFields.
func (ks *kindSchemas) extraSchema(extra any) *huma.Schema { return ks.extras[reflect.TypeOf(extra)] }

// argsSchemaName turns sync_user_emails into SyncUserEmailsArgs.
func argsSchemaName(kind string) string {
	var b strings.Builder
	for _, part := range strings.Split(kind, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String() + "Args"
}

// schemaName is the component name of a kind's args schema.
func (ks *kindSchemas) schemaName(kind string) string {
	return strings.TrimPrefix(ks.args[kind].Ref, "#/components/schemas/")
}

// validateArgs checks args alone against the kind's schema.
func (ks *kindSchemas) validateArgs(kind string, args json.RawMessage) error {
	return ks.validateArgsAt(kind, args, "body", "args")
}

// validateArgsAt checks args against the kind's schema, naming fields under
// the given location (e.g. body, steps[2], args).
func (ks *kindSchemas) validateArgsAt(kind string, args json.RawMessage, at ...string) error {
	var v any
	if err := json.Unmarshal(args, &v); err != nil {
		return huma.Error400BadRequest("args are not valid JSON: " + err.Error())
	}
	schema, ok := ks.args[kind]
	if !ok {
		return huma.Error422UnprocessableEntity(fmt.Sprintf("unknown kind %q", kind))
	}
	res := &huma.ValidateResult{}
	pb := huma.NewPathBuffer(make([]byte, 0, 64), 0)
	for _, p := range at {
		pb.Push(p)
	}
	huma.Validate(ks.registry, schema, pb, huma.ModeWriteToServer, v, res)
	if m, ok := v.(map[string]any); ok && ks.owned[kind] {
		if o, set := m["owner_id"]; set {
			res.Errors = append(res.Errors, &huma.ErrorDetail{Location: strings.Join(at, ".") + ".owner_id", Value: o, Message: "unexpected property"})
		}
	}
	if len(res.Errors) > 0 {
		return huma.Error422UnprocessableEntity("validation failed", res.Errors...)
	}
	return nil
}

// bodySchema builds the oneOf body schema over the kinds, each variant
// carrying the extra fields of `extra` (taskOptions or scheduleFields), and
// registers it as the component `name`: a union inline in a request body
// makes some generators (oapi-codegen) emit a body type that loses the
// union's JSON encoding.
func (ks *kindSchemas) bodySchema(name, prefix string, extra any, required ...string) *huma.Schema {
	base := ks.extraSchema(extra)
	one := &huma.Schema{Discriminator: &huma.Discriminator{PropertyName: "kind", Mapping: map[string]string{}}}
	for _, kind := range ks.names {
		props := map[string]*huma.Schema{
			"kind": {Type: huma.TypeString, Enum: []any{kind}, Description: "The task kind"},
			"args": ks.args[kind],
		}
		for p, s := range base.Properties {
			props[p] = s
		}
		variant := &huma.Schema{
			Type: huma.TypeObject, Title: kind, Properties: props,
			Required:             append([]string{"kind"}, required...),
			AdditionalProperties: false,
		}
		schemaName := prefix + strings.TrimSuffix(argsSchemaName(kind), "Args")
		ks.registry.Map()[schemaName] = variant
		ref := "#/components/schemas/" + schemaName
		one.OneOf = append(one.OneOf, &huma.Schema{Ref: ref})
		one.Discriminator.Mapping[kind] = ref
	}
	ks.registry.Map()[name] = one
	return &huma.Schema{Ref: schemaRef(name)}
}

// setJSONBody replaces the raw-body placeholder Huma documents for an
// operation with the real JSON schema.
func setJSONBody(api huma.API, method, path string, s *huma.Schema, desc string) {
	item := api.OpenAPI().Paths[path]
	var op *huma.Operation
	switch method {
	case http.MethodPost:
		op = item.Post
	case http.MethodPatch:
		op = item.Patch
	}
	op.RequestBody = &huma.RequestBody{
		Description: desc, Required: true,
		Content: map[string]*huma.MediaType{"application/json": {Schema: s}},
	}
}

// decodeBody validates a raw JSON body against the top-level schema of
// `extra` plus "kind" and "args", and the kind's args schema. It returns
// the kind, the raw args, and every field error at once.
func (ks *kindSchemas) decodeBody(raw []byte, extra any, out any, requireKind bool) (kind string, args json.RawMessage, err error) {
	var parsed any
	if err := json.Unmarshal(raw, &parsed); err != nil {
		return "", nil, huma.Error400BadRequest("the body is not valid JSON: " + err.Error())
	}
	obj, ok := parsed.(map[string]any)
	if !ok {
		return "", nil, huma.Error422UnprocessableEntity("the body must be a JSON object")
	}
	res := &huma.ValidateResult{}
	pb := huma.NewPathBuffer(make([]byte, 0, 64), 0)
	pb.Push("body")

	// Top-level fields: validate against the extra struct's schema, after
	// taking kind and args out.
	rest := map[string]any{}
	for k, v := range obj {
		if k != "kind" && k != "args" {
			rest[k] = v
		}
	}
	huma.Validate(ks.registry, ks.extraSchema(extra), pb, huma.ModeWriteToServer, rest, res)

	detailMsg := "validation failed"
	kindV, hasKind := obj["kind"]
	kind, _ = kindV.(string)
	argsSchema, known := ks.args[kind]
	switch {
	case !hasKind && requireKind:
		res.Errors = append(res.Errors, &huma.ErrorDetail{Location: "body.kind", Message: "kind is required; valid kinds: " + strings.Join(ks.names, ", ")})
	case hasKind && !known:
		detailMsg = fmt.Sprintf("unknown kind %q; valid kinds: %s", kindV, strings.Join(ks.names, ", "))
		res.Errors = append(res.Errors, &huma.ErrorDetail{Location: "body.kind", Value: kindV, Message: detailMsg})
	case known:
		argsV, ok := obj["args"]
		if !ok {
			argsV = map[string]any{}
		}
		pb.Push("args")
		huma.Validate(ks.registry, argsSchema, pb, huma.ModeWriteToServer, argsV, res)
		pb.Pop()
		// The owner is hidden from the schema but still a Go field: refuse it.
		if m, ok := argsV.(map[string]any); ok && ks.owned[kind] {
			if v, set := m["owner_id"]; set {
				res.Errors = append(res.Errors, &huma.ErrorDetail{Location: "body.args.owner_id", Value: v, Message: "unexpected property"})
			}
		}
		args, _ = json.Marshal(argsV)
	}
	if len(res.Errors) > 0 {
		return "", nil, huma.Error422UnprocessableEntity(detailMsg, res.Errors...)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return "", nil, huma.Error422UnprocessableEntity("the body does not fit: " + err.Error())
	}
	return kind, args, nil
}

// argsExample is the kind's example args as JSON would carry them, without
// the hidden owner_id.
func argsExample(k jobs.Kind) (any, bool) {
	if k.Example == nil {
		return nil, false
	}
	raw, err := json.Marshal(k.Example)
	if err != nil {
		panic(fmt.Sprintf("api: example of kind %s: %v", k.Name, err))
	}
	var v any
	if err := json.Unmarshal(withoutOwner(raw), &v); err != nil {
		panic(fmt.Sprintf("api: example of kind %s: %v", k.Name, err))
	}
	return v, true
}
