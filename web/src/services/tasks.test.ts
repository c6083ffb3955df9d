import { QueryClient, type InfiniteData } from "@tanstack/react-query";
import type { Task, TaskEvent } from "../api/client";
import { EventApplier, storeCancelAnswer, storeTask, taskKeys, taskQuery, type TaskFilters, type TaskPage } from "./tasks";

const at = "2026-01-01T00:00:00Z";
function task(id: number, p: Partial<Task> = {}): Task {
  return {
    id,
    kind: "sync_user_emails",
    queue: "sync",
    priority: 2,
    state: "running",
    attempt: 1,
    max_attempts: 10,
    errors: [],
    args: {},
    created_at: at,
    scheduled_at: at,
    wait_seconds: 0,
    run_seconds: 0,
    ...p,
  };
}
function event(id: number, p: Partial<TaskEvent>): TaskEvent {
  return { id, kind: "sync_user_emails", queue: "sync", state: "running", change: "started", attempt: 1, max_attempts: 10, priority: 2, at, ...p };
}

const all: TaskFilters = { state: [], kind: [], queue: [] };
const failedOnly: TaskFilters = { state: ["failed"], kind: [], queue: [] };

function seed(qc: QueryClient, f: TaskFilters, tasks: Task[]) {
  const data: InfiniteData<TaskPage, string> = { pages: [{ tasks, next_cursor: "" }], pageParams: [""] };
  qc.setQueryData(taskKeys.list(f), data);
}
function listed(qc: QueryClient, f: TaskFilters) {
  return qc.getQueryData<InfiniteData<TaskPage, string>>(taskKeys.list(f))?.pages.flatMap((p) => p.tasks ?? []);
}

describe("EventApplier", () => {
  it("patches a listed task's state and progress in place", () => {
    const qc = new QueryClient();
    seed(qc, all, [task(2), task(1)]);
    const ev = new EventApplier(qc, 10);
    ev.task(event(1, { state: "completed", change: "completed", result: { messages: 3, removed: 0 } }));
    ev.progress({ id: 2, done: 5, total: 10, percent: 50, rate: 1, at });
    expect(listed(qc, all)?.map((t) => [t.id, t.state, t.progress?.done])).toEqual([
      [2, "running", 5],
      [1, "completed", undefined],
    ]);
    expect(listed(qc, all)?.[1]?.result).toEqual({ messages: 3, removed: 0 });
    ev.dispose();
  });

  it("refetches a list that should now show a task it lacks, once per burst", async () => {
    const qc = new QueryClient();
    seed(qc, all, [task(1)]);
    seed(qc, failedOnly, []);
    const spy = vi.spyOn(qc, "invalidateQueries");
    const ev = new EventApplier(qc, 10);
    ev.task(event(2, { change: "created", state: "pending" }));
    ev.task(event(3, { change: "created", state: "pending" }));
    await vi.waitFor(() => expect(spy).toHaveBeenCalledTimes(1));
    const refetched = qc.getQueryCache().findAll().filter((q) => (spy.mock.calls[0]?.[0]?.predicate?.(q) ?? false));
    // Only the unfiltered list: a pending task is not "failed".
    expect(refetched.map((q) => q.queryKey)).toEqual([taskKeys.list(all)]);
    ev.dispose();
  });

  it("ignores an older progress report that arrives late", () => {
    const qc = new QueryClient();
    seed(qc, all, [task(1, { progress: { id: 1, done: 8, rate: 1, at: "2026-01-01T00:00:09Z" } })]);
    const ev = new EventApplier(qc);
    ev.progress({ id: 1, done: 4, rate: 1, at: "2026-01-01T00:00:05Z" });
    expect(listed(qc, all)?.[0]?.progress?.done).toBe(8);
    ev.dispose();
  });
});

describe("a task read from the server", () => {
  const later = { id: 1, done: 80, total: 100, percent: 80, rate: 1, at: "2026-01-01T00:00:09.5Z" };
  const earlier = { id: 1, done: 60, total: 100, percent: 60, rate: 1, at: "2026-01-01T00:00:09.25Z" };

  it("keeps the later progress the stream already delivered (refetch, snapshot, mutation)", async () => {
    const qc = new QueryClient();
    qc.setQueryData(taskKeys.detail(1), task(1, { progress: later }));
    seed(qc, all, [task(1, { progress: later })]);
    // A refetch answered from before the stream's report.
    await qc.fetchQuery({ ...taskQuery(1), queryFn: () => Promise.resolve(task(1, { progress: earlier, attempt: 2 })) });
    expect(qc.getQueryData<Task>(taskKeys.detail(1))?.progress?.done).toBe(80);
    expect(qc.getQueryData<Task>(taskKeys.detail(1))?.attempt).toBe(2);
    // A snapshot event with the stored progress.
    const ev = new EventApplier(qc);
    ev.task(event(1, { change: "snapshot", progress: earlier }));
    expect(qc.getQueryData<Task>(taskKeys.detail(1))?.progress?.done).toBe(80);
    // A mutation's answer.
    storeTask(qc, task(1, { state: "cancelling", progress: earlier }));
    expect(qc.getQueryData<Task>(taskKeys.detail(1))?.progress?.done).toBe(80);
    expect(listed(qc, all)?.[0]?.progress?.done).toBe(80);
    expect(listed(qc, all)?.[0]?.state).toBe("cancelling");
    ev.dispose();
  });

  it("keeps a task the stream already finished when the cancel's answer arrives after it", () => {
    const qc = new QueryClient();
    qc.setQueryData(taskKeys.detail(1), task(1, { state: "cancelled" }));
    seed(qc, all, [task(1, { state: "cancelled" })]);
    storeCancelAnswer(qc, task(1, { state: "cancelling" }));
    expect(qc.getQueryData<Task>(taskKeys.detail(1))?.state).toBe("cancelled");
    expect(listed(qc, all)?.[0]?.state).toBe("cancelled");
    // Not yet finished: the answer is news.
    qc.setQueryData(taskKeys.detail(2), task(2, { state: "running" }));
    seed(qc, all, [task(2, { state: "running" })]);
    storeCancelAnswer(qc, task(2, { state: "cancelling" }));
    expect(qc.getQueryData<Task>(taskKeys.detail(2))?.state).toBe("cancelling");
    expect(listed(qc, all)?.[0]?.state).toBe("cancelling");
    // A retry's answer moves a finished task on.
    storeTask(qc, task(1, { state: "pending" }));
    expect(qc.getQueryData<Task>(taskKeys.detail(1))?.state).toBe("pending");
  });

  it("takes a newer progress, comparing times rather than strings", async () => {
    const qc = new QueryClient();
    // "…:09Z" sorts after "…:09.5Z" as a string, yet is earlier.
    qc.setQueryData(taskKeys.detail(1), task(1, { progress: { ...earlier, at: "2026-01-01T00:00:09Z" } }));
    const ev = new EventApplier(qc);
    ev.progress(later);
    expect(qc.getQueryData<Task>(taskKeys.detail(1))?.progress?.done).toBe(80);
    await qc.fetchQuery({ ...taskQuery(1), queryFn: () => Promise.resolve(task(1, { progress: { ...later, done: 90, at: "2026-01-01T00:00:10Z" } })) });
    expect(qc.getQueryData<Task>(taskKeys.detail(1))?.progress?.done).toBe(90);
    ev.dispose();
  });
});
