import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { BulkResult, Queue } from "../api/client";
import { ErrorNote } from "../components/ErrorNote";
import { JsonView } from "../components/JsonView";
import { Link } from "../components/Link";
import { TaskList } from "../components/TaskList";
import { ThroughputChart } from "../components/ThroughputChart";
import { useNow } from "../hooks/useNow";
import { ago, count, dateTime, duration, plural } from "../lib/format";
import {
  deadLettersQuery,
  isAdminQuery,
  pauseQueue,
  queuesQuery,
  redrive,
  resumeQueue,
  statsQuery,
  systemHealthQuery,
} from "../services/queues";
import { storeTask, taskListQuery } from "../services/tasks";
import { kindsQuery, useKindTitle } from "../services/kinds";

function QueueRow({ q }: { q: Queue }) {
  const qc = useQueryClient();
  const toggle = useMutation({
    mutationFn: () => (q.paused ? resumeQueue(q.name) : pauseQueue(q.name)),
    onSuccess: () => qc.invalidateQueries({ queryKey: queuesQuery.queryKey }),
  });
  return (
    <tr data-queue={q.name}>
      <th scope="row">
        {q.name}
        {q.paused && <span className="badge paused">paused</span>}
      </th>
      <td data-label="Waiting">{count(q.available + q.pending)}</td>
      <td data-label="Running">{count(q.running)}</td>
      <td data-label="Scheduled">{count(q.scheduled)}</td>
      <td data-label="Retrying">{count(q.retryable)}</td>
      <td data-label="Oldest wait">{q.oldest_wait_seconds > 0 ? duration(q.oldest_wait_seconds) : "–"}</td>
      <td data-label="Done (1 min / 1 h)">
        {count(q.completed_last_minute)} / {count(q.completed_last_hour)}
      </td>
      <td data-label="Failed (1 h)">{count(q.failed_last_hour)}</td>
      <td className="row-actions">
        <button type="button" className="small" disabled={toggle.isPending} onClick={() => toggle.mutate()}>
          {q.paused ? "Resume" : "Pause"}
          <span className="sr-only"> queue {q.name}</span>
        </button>
        <ErrorNote error={toggle.error} />
      </td>
    </tr>
  );
}

function Queues() {
  const queues = useQuery(queuesQuery);
  if (queues.isPending) return <p className="muted">Loading queues…</p>;
  if (queues.isError) return <ErrorNote error={queues.error} prefix="Cannot list queues" />;
  return (
    <table className="queues">
      <caption className="sr-only">Queues</caption>
      <thead>
        <tr>
          <th scope="col">Queue</th>
          <th scope="col">Waiting</th>
          <th scope="col">Running</th>
          <th scope="col">Scheduled</th>
          <th scope="col">Retrying</th>
          <th scope="col">Oldest wait</th>
          <th scope="col">Done (1 min / 1 h)</th>
          <th scope="col">Failed (1 h)</th>
          <th scope="col">
            <span className="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {queues.data.map((q) => (
          <QueueRow key={q.name} q={q} />
        ))}
      </tbody>
    </table>
  );
}

function DeadLetters() {
  const title = useKindTitle();
  const qc = useQueryClient();
  const now = useNow();
  const dead = useQuery(deadLettersQuery);
  const [selected, setSelected] = useState<ReadonlySet<number>>(new Set());
  const [result, setResult] = useState<BulkResult | null>(null);
  const run = useMutation({
    mutationFn: (ids: number[]) => redrive(ids),
    onSuccess: (r) => {
      for (const t of r.changed ?? []) storeTask(qc, t);
      setResult(r);
      setSelected(new Set());
      void qc.invalidateQueries({ queryKey: deadLettersQuery.queryKey });
    },
  });
  if (dead.isPending) return <p className="muted">Loading dead letters…</p>;
  if (dead.isError) return <ErrorNote error={dead.error} prefix="Cannot list dead letters" />;
  const tasks = dead.data.tasks ?? [];
  const toggle = (id: number, on: boolean) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  return (
    <>
      <div className="bulkbar">
        <span>{tasks.length ? plural(tasks.length, "failed task") : "No failed tasks."}</span>
        <button type="button" disabled={!selected.size || run.isPending} onClick={() => run.mutate([...selected])}>
          Re-drive selected
        </button>
        <button
          type="button"
          disabled={!tasks.length || run.isPending}
          onClick={() => run.mutate(tasks.map((t) => t.id))}
        >
          Re-drive all shown
        </button>
      </div>
      <p role="status" className="status-line">
        {result &&
          `Re-drove ${result.changed?.length ?? 0}${result.skipped?.length ? `, skipped ${result.skipped.length}` : ""}.`}
      </p>
      <ErrorNote error={run.error} prefix="Re-drive failed" />
      {tasks.length > 0 && (
        <ul className="dead">
          {tasks.map((t) => (
            <li key={t.id}>
              <input
                type="checkbox"
                aria-label={`Select failed task ${t.id}`}
                checked={selected.has(t.id)}
                onChange={(e) => toggle(t.id, e.target.checked)}
              />
              <div>
                <Link to={`/tasks/${t.id}`}>
                  {title(t.kind)} #{t.id}
                </Link>{" "}
                <span className="muted small">
                  {t.queue} · {t.attempt}/{t.max_attempts} attempts · failed {ago(t.finished_at, now)}
                </span>
                {t.errors?.length ? <pre className="json small">{t.errors.at(-1)?.error}</pre> : null}
              </div>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

function Health() {
  const health = useQuery(systemHealthQuery);
  if (health.isPending) return <p className="muted">Loading…</p>;
  if (health.isError) return <ErrorNote error={health.error} prefix="Cannot read system health" />;
  if (!health.data) return <p className="muted">No health check has run yet (monitor_system_health runs every minute).</p>;
  const h = health.data;
  return (
    <>
      <dl className="facts wide">
        <dt>Checked</dt>
        <dd>{dateTime(h.checked_at)}</dd>
        <dt>Database latency</dt>
        <dd>{h.db_latency_ms.toFixed(1)} ms</dd>
        <dt>Queue depths</dt>
        <dd>
          {(h.queues ?? []).length
            ? (h.queues ?? []).map((q) => `${q.queue} ${q.state}: ${count(q.jobs)}`).join(" · ")
            : "all queues empty"}
        </dd>
      </dl>
      <details>
        <summary>Full report</summary>
        <JsonView value={h.report} label="Health report" />
      </details>
    </>
  );
}

/** SystemTasks lists the service's own upkeep, which Tasks hides by default. */
function SystemTasks() {
  const kinds = useQuery(kindsQuery);
  const system = (kinds.data ?? []).filter((k) => k.admin_only).map((k) => k.name);
  const list = useInfiniteQuery({
    ...taskListQuery({ state: [], kind: system, queue: [] }),
    enabled: system.length > 0,
  });
  if (kinds.isPending || (system.length > 0 && list.isPending)) return <p className="muted">Loading…</p>;
  if (list.isError) return <ErrorNote error={list.error} prefix="Cannot list the system tasks" />;
  const tasks = (list.data?.pages.flatMap((p) => p.tasks ?? []) ?? []).slice(0, 10);
  return (
    <>
      <TaskList tasks={tasks} />
      <p className="small">
        <Link to="/?system=1">All tasks, with the system tasks</Link>
      </p>
    </>
  );
}

function Throughput() {
  const stats = useQuery(statsQuery);
  if (stats.isPending) return <p className="muted">Loading…</p>;
  if (stats.isError) return <ErrorNote error={stats.error} prefix="Cannot read statistics" />;
  return <ThroughputChart points={stats.data.throughput ?? []} />;
}

export function OperatorsPage() {
  const admin = useQuery(isAdminQuery);
  if (admin.isPending) return <p className="muted">Loading…</p>;
  if (!admin.data) {
    return (
      <section>
        <h1 tabIndex={-1}>Operators</h1>
        <p>This page is for admins. Sign in with an admin token to see queues, dead letters and system health.</p>
      </section>
    );
  }
  return (
    <section aria-labelledby="ops-title">
      <div className="page-head">
        <h1 id="ops-title" tabIndex={-1}>
          Operators
        </h1>
        <a className="button" href="/riverui/" target="_blank" rel="noopener">
          Open River UI<span className="sr-only"> (new tab; user any name, password your token)</span>
        </a>
      </div>
      <p className="muted small">
        River UI asks for a user name and password: any name, and your admin token as the password.
      </p>
      <div className="card">
        <h2>Queues</h2>
        <Queues />
      </div>
      <div className="card">
        <h2>Throughput</h2>
        <Throughput />
      </div>
      <div className="card">
        <h2>System tasks</h2>
        <SystemTasks />
      </div>
      <div className="grid2">
        <div className="card">
          <h2>Dead letters</h2>
          <DeadLetters />
        </div>
        <div className="card">
          <h2>System health</h2>
          <Health />
        </div>
      </div>
    </section>
  );
}
