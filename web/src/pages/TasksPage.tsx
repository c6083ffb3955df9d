import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { TASK_STATES, type BulkResult, type Task, type TaskState } from "../api/client";
import { ErrorNote } from "../components/ErrorNote";
import { Link } from "../components/Link";
import { TaskList } from "../components/TaskList";
import { count, plural } from "../lib/format";
import { navigate, useLocation } from "../router";
import { kindsQuery } from "../services/kinds";
import { cancelTasks, retryTasks, storeTask, taskListQuery, type TaskFilters } from "../services/tasks";

function one(v: string | null): string[] {
  return v ? v.split(",").filter(Boolean) : [];
}

function searchable(t: Task): string {
  return [t.id, t.kind, t.queue, t.owner, t.state, t.progress?.stage, t.progress?.message, ...(t.errors ?? []).map((e) => e.error)]
    .filter(Boolean)
    .join(" ")
    .toLowerCase();
}

function summary(verb: string, r: BulkResult): string {
  const changed = r.changed?.length ?? 0;
  const skipped = r.skipped ?? [];
  let s = `${verb} ${plural(changed, "task")}.`;
  if (skipped.length) {
    s += ` Skipped ${count(skipped.length)}: ${skipped
      .slice(0, 3)
      .map((k) => `#${k.id} (${k.reason})`)
      .join(", ")}${skipped.length > 3 ? "…" : ""}`;
  }
  return s;
}

export function TasksPage() {
  const qc = useQueryClient();
  const { search } = useLocation();
  const [stateP, kindP, queueP] = [search.get("state"), search.get("kind"), search.get("queue")];
  const filters: TaskFilters = useMemo(
    () => ({ state: one(stateP) as TaskState[], kind: one(kindP), queue: one(queueP) }),
    [stateP, kindP, queueP],
  );
  const text = search.get("q") ?? "";
  const kinds = useQuery(kindsQuery);
  // System tasks (the kinds only admins start: health checks, token
  // cleanup, mostly from the built-in schedules) stay out of the list
  // unless asked for, or filtered on by kind: the server filters, so paging
  // and live updates agree.
  const showSystem = search.get("system") === "1";
  const systemKinds = useMemo(() => (kinds.data ?? []).filter((k) => k.admin_only), [kinds.data]);
  const shownKinds = useMemo(
    () => (kinds.data ?? []).filter((k) => showSystem || !k.admin_only),
    [kinds.data, showSystem],
  );
  const listFilters: TaskFilters = useMemo(
    () =>
      filters.kind.length || showSystem || !systemKinds.length ? filters : { ...filters, kind: shownKinds.map((k) => k.name) },
    [filters, showSystem, systemKinds, shownKinds],
  );
  const list = useInfiniteQuery({ ...taskListQuery(listFilters), enabled: !kinds.isPending });
  const [selected, setSelected] = useState<ReadonlySet<number>>(new Set());
  const [result, setResult] = useState("");

  const setParam = (name: string, value: string) => {
    const next = new URLSearchParams(search);
    if (value) next.set(name, value);
    else next.delete(name);
    const qs = next.toString();
    navigate(qs ? `/?${qs}` : "/", { replace: true });
  };

  const tasks = useMemo(() => {
    const all = list.data?.pages.flatMap((p) => p.tasks ?? []) ?? [];
    const q = text.trim().toLowerCase().replace(/^#/, "");
    return q ? all.filter((t) => searchable(t).includes(q)) : all;
  }, [list.data, text]);

  const queues = useMemo(
    () => [...new Set((kinds.data ?? []).map((k) => k.queue))].sort(),
    [kinds.data],
  );

  const bulk = useMutation({
    mutationFn: ({ action, ids }: { action: "cancel" | "retry"; ids: number[] }) =>
      action === "cancel" ? cancelTasks(ids) : retryTasks(ids),
    onSuccess: (r, { action }) => {
      for (const t of r.changed ?? []) storeTask(qc, t);
      setResult(summary(action === "cancel" ? "Cancelled" : "Retried", r));
      setSelected(new Set());
    },
  });

  const onSelect = (ids: number[], on: boolean) =>
    setSelected((prev) => {
      const next = new Set(prev);
      for (const id of ids) {
        if (on) next.add(id);
        else next.delete(id);
      }
      return next;
    });

  const ids = [...selected];
  return (
    <section aria-labelledby="tasks-title">
      <div className="page-head">
        <h1 id="tasks-title" tabIndex={-1}>
          Tasks
        </h1>
        <Link to="/start" className="button primary">
          Start work
        </Link>
      </div>

      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="f-state">State</label>
          <select id="f-state" value={filters.state.join(",")} onChange={(e) => setParam("state", e.target.value)}>
            <option value="">All states</option>
            <option value="pending,scheduled,running,cancelling,retrying">In flight</option>
            {TASK_STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-kind">Kind</label>
          <select id="f-kind" value={filters.kind.join(",")} onChange={(e) => setParam("kind", e.target.value)}>
            <option value="">All kinds</option>
            {shownKinds.map((k) => (
              <option key={k.name} value={k.name}>
                {k.title}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-queue">Queue</label>
          <select id="f-queue" value={filters.queue.join(",")} onChange={(e) => setParam("queue", e.target.value)}>
            <option value="">All queues</option>
            {queues.map((q) => (
              <option key={q} value={q}>
                {q}
              </option>
            ))}
          </select>
        </div>
        {systemKinds.length > 0 && (
          <div className="field check">
            <label className="switch" htmlFor="f-system">
              <input
                id="f-system"
                type="checkbox"
                checked={showSystem}
                aria-describedby="f-system-help"
                onChange={(e) => setParam("system", e.target.checked ? "1" : "")}
              />
              Show system tasks
            </label>
            <span id="f-system-help" className="help">
              {systemKinds.map((k) => k.title).join(", ")}: the service&rsquo;s own upkeep, also in Operators.
            </span>
          </div>
        )}
        <div className="field grow">
          <label htmlFor="f-q">Search</label>
          <input
            id="f-q"
            type="search"
            placeholder="id, kind, owner, stage, error…"
            value={text}
            onChange={(e) => setParam("q", e.target.value)}
          />
        </div>
      </form>

      <div className="bulkbar" aria-label="Actions on selected tasks" role="region">
        <span>{ids.length ? `${count(ids.length)} selected` : "Select tasks to cancel or retry them together."}</span>
        <button
          type="button"
          disabled={!ids.length || bulk.isPending}
          onClick={() => bulk.mutate({ action: "cancel", ids })}
        >
          Cancel selected
        </button>
        <button
          type="button"
          disabled={!ids.length || bulk.isPending}
          onClick={() => bulk.mutate({ action: "retry", ids })}
        >
          Retry selected
        </button>
        {ids.length > 0 && (
          <button type="button" className="link" onClick={() => setSelected(new Set())}>
            Clear selection
          </button>
        )}
      </div>
      <p role="status" className="status-line">
        {result}
      </p>
      <ErrorNote error={bulk.error} prefix="The action failed" />

      {list.isPending || kinds.isPending ? (
        <p className="muted">Loading tasks…</p>
      ) : list.isError ? (
        <ErrorNote error={list.error} prefix="Cannot list tasks" />
      ) : (
        <>
          <TaskList tasks={tasks} selected={selected} onSelect={onSelect} />
          <div className="pager">
            {list.hasNextPage ? (
              <button type="button" onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage}>
                {list.isFetchingNextPage ? "Loading…" : "Show older tasks"}
              </button>
            ) : (
              tasks.length > 0 && <span className="muted">No older tasks.</span>
            )}
          </div>
        </>
      )}
    </section>
  );
}
