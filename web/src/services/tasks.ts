// Tasks: query options, mutations, and how stream events patch the cache.
import {
  infiniteQueryOptions,
  queryOptions,
  replaceEqualDeep,
  type InfiniteData,
  type QueryClient,
} from "@tanstack/react-query";
import {
  api,
  call,
  type BulkResult,
  type ProgressEvent,
  type Schemas,
  type Task,
  type TaskEvent,
  type TaskState,
} from "../api/client";
import type { operations } from "../api/schema";

export type TaskFilters = { state: TaskState[]; kind: string[]; queue: string[] };
export type TaskPage = Schemas["TaskPage"];

export const PAGE_SIZE = 50;

const FINISHED: ReadonlySet<TaskState> = new Set(["completed", "failed", "cancelled"]);

/** isFinished: the task will not change again unless someone retries it. */
export function isFinished(state: TaskState): boolean {
  return FINISHED.has(state);
}

export function canCancel(state: TaskState): boolean {
  return !isFinished(state) && state !== "cancelling";
}

export function canRetry(state: TaskState): boolean {
  return state === "failed" || state === "cancelled";
}

export const taskKeys = {
  all: ["tasks"] as const,
  lists: () => [...taskKeys.all, "list"] as const,
  list: (f: TaskFilters) => [...taskKeys.lists(), f] as const,
  details: () => [...taskKeys.all, "detail"] as const,
  detail: (id: number) => [...taskKeys.details(), id] as const,
};

function orNull<T>(list: T[]): T[] | undefined {
  return list.length ? list : undefined;
}

export function taskListQuery(f: TaskFilters) {
  return infiniteQueryOptions({
    queryKey: taskKeys.list(f),
    queryFn: ({ pageParam, signal }) =>
      call(
        api.GET("/api/v1/tasks", {
          params: {
            query: {
              state: orNull(f.state),
              kind: orNull(f.kind),
              queue: orNull(f.queue),
              limit: PAGE_SIZE,
              cursor: pageParam || undefined,
            },
          },
          signal,
        }),
      ),
    initialPageParam: "",
    getNextPageParam: (last) => last.next_cursor || undefined,
  });
}

export function taskQuery(id: number) {
  return queryOptions({
    queryKey: taskKeys.detail(id),
    queryFn: ({ signal }) => call(api.GET("/api/v1/tasks/{id}", { params: { path: { id } }, signal })),
    // A refetch reads the progress stored before the stream's latest report
    // may have arrived: keep the later one.
    structuralSharing: (old: unknown, next: unknown) =>
      replaceEqualDeep(old, withLaterProgress(old as Task | undefined, next as Task)),
  });
}

/** The create-task body for any kind, including kinds added after this build. */
export type NewTask = {
  kind: string;
  args: Record<string, unknown>;
  priority?: number;
  run_at?: string;
  max_attempts?: number;
};
type CreateBody = operations["create-task"]["requestBody"]["content"]["application/json"];

export function createTask(t: NewTask) {
  // The generated body is a union over the kinds known when the types were
  // generated; the server validates the kind and its args (422 with field
  // errors), so a kind added later passes through unchanged.
  return call(api.POST("/api/v1/tasks", { body: t as CreateBody }));
}

export function cancelTask(id: number) {
  return call(api.POST("/api/v1/tasks/{id}/cancel", { params: { path: { id } } }));
}

export function retryTask(id: number) {
  return call(api.POST("/api/v1/tasks/{id}/retry", { params: { path: { id } } }));
}

export function cancelTasks(ids: number[]): Promise<BulkResult> {
  return call(api.POST("/api/v1/tasks/cancel", { body: { ids } }));
}

export function retryTasks(ids: number[]): Promise<BulkResult> {
  return call(api.POST("/api/v1/tasks/retry", { body: { ids } }));
}

/** storeTask puts a task the server returned into every cache that holds it. */
export function storeTask(qc: QueryClient, t: Task) {
  qc.setQueryData<Task>(taskKeys.detail(t.id), (old) => withLaterProgress(old, t));
  patchLists(qc, t.id, (old) => withLaterProgress(old, t));
}

/**
 * storeCancelAnswer stores a cancel's answer (cancelling, or cancelled if
 * the task had not started). The worker stops within milliseconds of the
 * cancel, so on a busy machine the stream can deliver the attempt's end
 * before the answer arrives: a task the cache already has finished stays
 * finished (a cancel cannot start it again; a retry's answer is stored by
 * storeTask).
 */
export function storeCancelAnswer(qc: QueryClient, t: Task) {
  const apply = (old: Task | undefined) =>
    old !== undefined && old.id === t.id && isFinished(old.state) && !isFinished(t.state) ? old : withLaterProgress(old, t);
  qc.setQueryData<Task>(taskKeys.detail(t.id), apply);
  patchLists(qc, t.id, (old) => apply(old) as Task);
}

/**
 * laterProgress is the more recent of two progress reports. A task read
 * from the server (a refetch, a snapshot, a mutation's answer) may carry an
 * older report than the stream already delivered: the bar must not go back.
 */
function laterProgress(cur: ProgressEvent | undefined, p: ProgressEvent | undefined): ProgressEvent | undefined {
  if (!cur || !p) return p ?? cur;
  return Date.parse(cur.at) > Date.parse(p.at) ? cur : p;
}

/** withLaterProgress is the task as read from the server, with the later progress. */
function withLaterProgress(old: Task | undefined, t: Task): Task {
  if (!old || old.id !== t.id) return t;
  const progress = laterProgress(old.progress, t.progress);
  return progress === t.progress ? t : { ...t, progress };
}

function patchLists(qc: QueryClient, id: number, fn: (t: Task) => Task): boolean {
  let found = false;
  qc.setQueriesData<InfiniteData<TaskPage, string>>({ queryKey: taskKeys.lists() }, (old) => {
    if (!old) return old;
    let changed = false;
    const pages = old.pages.map((p) => {
      const tasks = p.tasks ?? [];
      const i = tasks.findIndex((t) => t.id === id);
      if (i < 0) return p;
      found = changed = true;
      const next = tasks.slice();
      next[i] = fn(tasks[i] as Task);
      return { ...p, tasks: next };
    });
    return changed ? { ...old, pages } : old;
  });
  return found;
}

/** mergeTaskEvent applies a task event to the task as last fetched. */
export function mergeTaskEvent(t: Task, ev: TaskEvent): Task {
  const next: Task = {
    ...t,
    state: ev.state,
    attempt: ev.attempt,
    max_attempts: ev.max_attempts,
    priority: ev.priority,
  };
  if (ev.progress) next.progress = laterProgress(t.progress, ev.progress);
  if (ev.result !== undefined) next.result = ev.result;
  if (ev.change === "started") {
    next.started_at = ev.at;
    next.finished_at = undefined;
  }
  if (isFinished(ev.state) && !t.finished_at) next.finished_at = ev.at;
  if (!isFinished(ev.state) && ev.change !== "snapshot") next.finished_at = undefined;
  if (ev.error && (ev.change === "retrying" || ev.change === "failed")) {
    const errors = t.errors ?? [];
    if (!errors.some((e) => e.attempt === ev.attempt)) {
      next.errors = [...errors, { attempt: ev.attempt, at: ev.at, error: ev.error }];
    }
  }
  return next;
}

function mergeProgress(t: Task, p: ProgressEvent): Task {
  const progress = laterProgress(t.progress, p);
  return progress === t.progress ? t : { ...t, progress }; // an older report arrived late: unchanged
}

function matches(f: TaskFilters, ev: TaskEvent): boolean {
  return (
    (!f.state.length || f.state.includes(ev.state)) &&
    (!f.kind.length || f.kind.includes(ev.kind)) &&
    (!f.queue.length || f.queue.includes(ev.queue))
  );
}

// Changes after which the detail view refetches: they bring timestamps and
// errors that events do not carry (streams notify; queries fetch).
const REFETCH_DETAIL = new Set<TaskEvent["change"]>([
  "started",
  "requeued",
  "retrying",
  "completed",
  "failed",
  "cancelled",
]);

/**
 * EventApplier turns stream events into cache updates: tasks already cached
 * are patched at once, and a list that should now show a task it lacks is
 * refetched, at most every `refetchMs`.
 */
export class EventApplier {
  private readonly qc: QueryClient;
  private readonly refetchMs: number;
  private readonly stale = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(qc: QueryClient, refetchMs = 1000) {
    this.qc = qc;
    this.refetchMs = refetchMs;
  }

  task(ev: TaskEvent) {
    const { qc } = this;
    const detail = qc.getQueryData<Task>(taskKeys.detail(ev.id));
    if (detail) {
      qc.setQueryData(taskKeys.detail(ev.id), mergeTaskEvent(detail, ev));
      if (REFETCH_DETAIL.has(ev.change)) void qc.invalidateQueries({ queryKey: taskKeys.detail(ev.id), exact: true });
    }
    patchLists(qc, ev.id, (t) => mergeTaskEvent(t, ev));
    // Lists that should show this task but do not: refetch them.
    for (const q of qc.getQueryCache().findAll({ queryKey: taskKeys.lists() })) {
      const f = q.queryKey[2] as TaskFilters | undefined;
      const data = q.state.data as InfiniteData<TaskPage, string> | undefined;
      if (!f || !data || !matches(f, ev)) continue;
      if (data.pages.some((p) => p.tasks?.some((t) => t.id === ev.id))) continue;
      const oldest = data.pages.at(-1)?.tasks?.at(-1)?.id ?? 0;
      const hasMore = !!data.pages.at(-1)?.next_cursor;
      if (hasMore && ev.id < oldest) continue; // belongs to a page not loaded
      this.stale.add(q.queryHash);
    }
    this.schedule();
  }

  progress(p: ProgressEvent) {
    const { qc } = this;
    const detail = qc.getQueryData<Task>(taskKeys.detail(p.id));
    if (detail) qc.setQueryData(taskKeys.detail(p.id), mergeProgress(detail, p));
    patchLists(qc, p.id, (t) => mergeProgress(t, p));
  }

  private schedule() {
    if (!this.stale.size || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const hashes = new Set(this.stale);
      this.stale.clear();
      void this.qc.invalidateQueries({ predicate: (q) => hashes.has(q.queryHash) });
    }, this.refetchMs);
  }

  dispose() {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
