import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { ErrorNote } from "../components/ErrorNote";
import { Link } from "../components/Link";
import { DailyLineChart, StackedDaysChart } from "../components/StackedDaysChart";
import { useNow } from "../hooks/useNow";
import { ago, count, duration, plural } from "../lib/format";
import {
  analyticsQuery,
  byKind,
  dateRange,
  percent,
  RANGES,
  SERIES,
  systemAnalyticsQuery,
  totals,
  type Analytics,
  type Range,
  type SystemAnalytics,
} from "../services/analytics";
import { isAdminQuery } from "../services/queues";
import { createTask } from "../services/tasks";

const BULK_NAMES: Record<string, string> = {
  bulk_archive_emails: "Archived",
  bulk_delete_emails: "Deleted",
  bulk_label_emails: "Relabelled",
};

function Mail({ a }: { a: Analytics }) {
  const now = useNow();
  const sums = useMemo(() => totals(a.days), [a.days]);
  const received = a.days.reduce((n, d) => n + d.received, 0);
  const unread = a.days.reduce((n, d) => n + d.unread, 0);
  const bulk = new Map<string, { tasks: number; messages: number }>();
  for (const b of a.bulk) {
    const k = bulk.get(b.kind) ?? { tasks: 0, messages: 0 };
    k.tasks += b.tasks;
    k.messages += b.messages;
    bulk.set(b.kind, k);
  }
  return (
    <>
      <dl className="facts wide" aria-label="Summary">
        <dt>Stored messages</dt>
        <dd data-testid="messages">{count(a.summary.messages)}</dd>
        <dt>Unread</dt>
        <dd data-testid="unread">{count(a.summary.unread)}</dd>
        <dt>Classified</dt>
        <dd data-testid="coverage">
          {percent(a.summary.coverage)} ({count(a.summary.classified)} of {count(a.summary.messages)})
        </dd>
        <dt>Last sync</dt>
        <dd data-testid="last-sync">
          {a.accounts.length === 0 ? (
            <>
              No accounts. <Link to="/accounts">Connect one.</Link>
            </>
          ) : (
            a.accounts.map((acct) => (
              <span key={acct.id} className="sub">
                {acct.email}: {acct.last_synced_at ? ago(acct.last_synced_at, now) : "never"}
                {acct.status !== "connected" && <span className="badge paused"> {acct.status.replace("_", " ")}</span>}
              </span>
            ))
          )}
        </dd>
      </dl>

      <section aria-labelledby="received-title">
        <h2 id="received-title">Received per day</h2>
        <figure className="chart">
          <StackedDaysChart days={a.days} />
          <figcaption>
            {a.from} to {a.to}: {plural(received, "message")} received and still stored, {count(unread)} unread.
          </figcaption>
        </figure>
        {received > 0 && (
          <table className="compact">
            <caption className="sr-only">Received per category</caption>
            <thead>
              <tr>
                <th scope="col">Category</th>
                <th scope="col">Messages</th>
              </tr>
            </thead>
            <tbody>
              {SERIES.filter((s) => sums[s.key] > 0).map((s) => (
                <tr key={s.key} data-category={s.key}>
                  <th scope="row">{s.name}</th>
                  <td>{count(sums[s.key])}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <div className="grid2">
        <section aria-labelledby="senders-title" className="card">
          <h2 id="senders-title">Top senders</h2>
          {a.senders.length === 0 ? (
            <p className="muted">None yet.</p>
          ) : (
            <table className="compact senders">
              <caption className="sr-only">Top senders</caption>
              <thead>
                <tr>
                  <th scope="col">Sender</th>
                  <th scope="col">Messages</th>
                  <th scope="col">Unread</th>
                </tr>
              </thead>
              <tbody>
                {a.senders.slice(0, 10).map((s) => (
                  <tr key={s.rank}>
                    <td>{s.sender || "(no sender)"}</td>
                    <td>{count(s.messages)}</td>
                    <td>{percent(s.messages ? s.unread / s.messages : 0)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section aria-labelledby="bulk-title" className="card">
          <h2 id="bulk-title">Bulk actions</h2>
          {bulk.size === 0 ? (
            <p className="muted">No bulk action finished in this range.</p>
          ) : (
            <ul>
              {[...bulk.entries()].map(([kind, b]) => (
                <li key={kind}>
                  {BULK_NAMES[kind] ?? kind}: {plural(b.messages, "message")} in {plural(b.tasks, "task")}
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </>
  );
}

function System({ s }: { s: SystemAnalytics }) {
  const rows = byKind(s.tasks);
  const days = s.days.map((d) => d.day);
  const lines = useMemo(
    () => [
      { label: "Completed", values: s.days.map((d) => d.completed), color: "#1f7a4d" },
      { label: "Failed", values: s.days.map((d) => d.failed), color: "#b3261e" },
    ],
    [s.days],
  );
  const quota = s.days.reduce((n, d) => n + d.quota_units, 0);
  const tokens = s.days.reduce((n, d) => n + d.llm_tokens, 0);
  return (
    <section aria-labelledby="system-title">
      <h2 id="system-title">System</h2>
      <figure className="chart">
        <DailyLineChart days={days} lines={lines} unit="tasks / day" />
        <figcaption>
          Tasks finished per day. Gmail quota units recorded: {count(Math.round(quota))}; LLM tokens: {count(tokens)}.
        </figcaption>
      </figure>
      <table className="compact" data-testid="task-kinds">
        <caption className="sr-only">Tasks per kind</caption>
        <thead>
          <tr>
            <th scope="col">Kind</th>
            <th scope="col">Completed</th>
            <th scope="col">Failed</th>
            <th scope="col">Failure rate</th>
            <th scope="col">Run p95</th>
            <th scope="col">Wait p95</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.kind}>
              <th scope="row">
                <code>{r.kind}</code>
              </th>
              <td>{count(r.completed)}</td>
              <td>{count(r.failed)}</td>
              <td>{percent(r.failureRate)}</td>
              <td>{r.runP95 < 1000 ? `${Math.round(r.runP95)} ms` : duration(r.runP95 / 1000)}</td>
              <td>{r.waitP95 < 1000 ? `${Math.round(r.waitP95)} ms` : duration(r.waitP95 / 1000)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && <p className="muted">No finished tasks rolled up in this range yet.</p>}
    </section>
  );
}

/**
 * AnalyticsPage shows the signed-in person's mail over time (received per
 * day by category, unread, classification coverage, top senders, bulk
 * actions, last sync) and, for admins, the system's tasks per day.
 */
export function AnalyticsPage() {
  const qc = useQueryClient();
  const [range, setRange] = useState<Range>(30);
  // The dates (and so the query keys) change only when the UTC day does.
  const now = useNow();
  const { from, to } = dateRange(range, now);
  const mine = useQuery(analyticsQuery(from, to));
  const admin = useQuery(isAdminQuery);
  const system = useQuery({ ...systemAnalyticsQuery(from, to), enabled: admin.data === true });
  const update = useMutation({
    mutationFn: () => createTask({ kind: "update_analytics", args: {} }),
    onSuccess: () => setTimeout(() => void qc.invalidateQueries({ queryKey: ["analytics"] }), 1500),
  });
  return (
    <section aria-labelledby="analytics-title">
      <h1 id="analytics-title" tabIndex={-1}>
        Analytics
      </h1>
      <div className="bulkbar">
        <label>
          Range{" "}
          <select value={range} onChange={(e) => setRange(Number(e.target.value) as Range)}>
            {RANGES.map((r) => (
              <option key={r} value={r}>
                Last {r} days
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="small" disabled={update.isPending} onClick={() => update.mutate()}>
          Update now
        </button>
        {update.isSuccess && <span role="status">Update started.</span>}
        {update.isError && <ErrorNote error={update.error} />}
      </div>
      <p className="muted small">Rolled up hourly by update_analytics; days in UTC.</p>
      {mine.isPending ? (
        <p className="muted">Loading…</p>
      ) : mine.isError ? (
        <ErrorNote error={mine.error} />
      ) : (
        <Mail a={mine.data} />
      )}
      {admin.data && system.data && <System s={system.data} />}
      {admin.data && system.isError && <ErrorNote error={system.error} />}
    </section>
  );
}
