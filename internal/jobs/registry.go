package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/riverqueue/river"

	"github.com/inboxq/inboxq/internal/store"
)

// Kind describes a task kind: what people may start, and how River runs it.
type Kind struct {
	// Name is the River kind.
	Name string
	// Title is the kind's name for people (Info.Title).
	Title string
	// Description is shown in the API document.
	Description string
	// AdminOnly kinds (system maintenance) may be started by admins only.
	AdminOnly bool
	// Args is the args struct type; the API documents and validates it.
	Args reflect.Type
	// Opts are the kind's defaults: queue, priority, attempts, uniqueness.
	Opts river.InsertOpts
	// Owned kinds carry their owner in args.owner_id.
	Owned bool
	// Notify leaves the owner a notification when a task completes
	// (failures always do).
	Notify bool
	// Check vets args for their owner (see Info.Check).
	Check func(ctx context.Context, st *store.Store, owner int64, args river.JobArgs) error
	// Result is the type of what the kind records as its output (nil:
	// nothing typed); the API documents it.
	Result reflect.Type
	// Example is sample args (see Info.Example).
	Example any
	// OnFailure, when set, is the cleanup a task of the kind gets: see
	// Info.OnFailure.
	OnFailure func(owner int64) river.JobArgs

	decode func(raw json.RawMessage) (river.JobArgs, error)
}

// Info is what Add needs besides the worker.
type Info struct {
	// Title is the kind's name for people ("Archive messages"); the API
	// document and the dashboard show it. Empty: derived from the kind.
	Title       string
	Description string
	AdminOnly   bool
	// Notify tells the owner when a task of this kind completes: for long
	// work people wait for (syncs, bulk actions, exports).
	Notify bool
	// Check, when set, vets decoded args for their owner before a task is
	// created (e.g. the account belongs to them), inside the creating
	// transaction.
	Check func(ctx context.Context, st *store.Store, owner int64, args river.JobArgs) error
	// OnFailure, when set, makes each task of the kind a workflow of two
	// steps: the task, and this cleanup task as its on-failure callback,
	// which runs when the task fails for good or is cancelled (it reads
	// which task failed with StepDeps).
	OnFailure func(owner int64) river.JobArgs
	// Result is a zero value of what the kind records with
	// river.RecordOutput, so the API can document its result's type.
	Result any
	// Example is sample args of the kind, as a client would send them: the
	// API document shows it on the kind's args schema (its JSON, without
	// owner_id). Every kind people can start should have one.
	Example any
}

// Registry holds every task kind with its worker. A kind can only be
// registered together with the worker that does its work.
type Registry struct {
	kinds   map[string]Kind
	workers *river.Workers
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{kinds: map[string]Kind{}, workers: river.NewWorkers()}
}

// Owned is embedded in the args of kinds that people start: the engine sets
// OwnerID to the caller, and the field is hidden from the API schema so
// nobody can set it. It is part of the unique key of kinds unique by args.
type Owned struct {
	OwnerID int64 `json:"owner_id" hidden:"true" river:"unique"`
}

// SetOwner records the task's owner.
func (o *Owned) SetOwner(id int64) { o.OwnerID = id }

// Owner returns the task's owner.
func (o Owned) Owner() int64 { return o.OwnerID }

type ownedArgs interface{ SetOwner(int64) }

// Add registers the kind of T with its worker.
func Add[T river.JobArgs](r *Registry, w river.Worker[T], info Info) {
	var zero T
	name := zero.Kind()
	if _, dup := r.kinds[name]; dup {
		panic(fmt.Sprintf("jobs: kind %s registered twice", name))
	}
	k := Kind{
		Name:        name,
		Title:       info.Title,
		Description: info.Description,
		AdminOnly:   info.AdminOnly,
		Notify:      info.Notify,
		Check:       info.Check,
		OnFailure:   info.OnFailure,
		Args:        reflect.TypeFor[T](),
		Result:      typeOf(info.Result),
		Example:     info.Example,
		decode: func(raw json.RawMessage) (river.JobArgs, error) {
			args := new(T)
			if len(bytes.TrimSpace(raw)) > 0 {
				dec := json.NewDecoder(bytes.NewReader(raw))
				dec.DisallowUnknownFields()
				if err := dec.Decode(args); err != nil {
					return nil, fmt.Errorf("decoding %s args: %w", name, err)
				}
			}
			return *args, nil
		},
	}
	if withOpts, ok := any(zero).(river.JobArgsWithInsertOpts); ok {
		k.Opts = withOpts.InsertOpts()
	}
	_, k.Owned = any(new(T)).(ownedArgs)
	if !k.Owned && !k.AdminOnly {
		// A task someone starts must be theirs, or only admins may start it.
		panic(fmt.Sprintf("jobs: kind %s must embed jobs.Owned or be AdminOnly", name))
	}
	r.kinds[name] = k
	river.AddWorker(r.workers, w)
}

// Kind returns a registered kind.
func (r *Registry) Kind(name string) (Kind, bool) {
	k, ok := r.kinds[name]
	return k, ok
}

// Kinds lists the registered kinds by name.
func (r *Registry) Kinds() []Kind {
	out := make([]Kind, 0, len(r.kinds))
	for _, k := range r.kinds {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b Kind) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Names lists the registered kind names, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.kinds))
	for name := range r.kinds {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Workers returns the River workers bundle.
func (r *Registry) Workers() *river.Workers { return r.workers }

// NewArgs decodes raw args for the kind (strictly: unknown fields fail) and,
// for owned kinds, sets the owner.
func (k Kind) NewArgs(raw json.RawMessage, owner int64) (river.JobArgs, error) {
	args, err := k.decode(raw)
	if err != nil {
		return nil, err
	}
	if k.Owned {
		// Args are values; set the owner on a copy through a pointer.
		ptr := reflect.New(reflect.TypeOf(args))
		ptr.Elem().Set(reflect.ValueOf(args))
		ptr.Interface().(ownedArgs).SetOwner(owner)
		args = ptr.Elem().Interface().(river.JobArgs)
	}
	return args, nil
}

func typeOf(v any) reflect.Type {
	if v == nil {
		return nil
	}
	return reflect.TypeOf(v)
}
