import { useQuery } from "@tanstack/react-query";
import { ErrorNote } from "../components/ErrorNote";
import { Link } from "../components/Link";
import { StateBadge } from "../components/StateBadge";
import { WorkflowBar } from "../components/WorkflowBits";
import { useNow } from "../hooks/useNow";
import { ago, dateTime } from "../lib/format";
import { listedFinishedSteps, workflowListQuery, type Workflow } from "../services/workflows";

function When({ at, now }: { at?: string; now: number }) {
  if (!at) return <span className="muted">not yet</span>;
  return (
    <time dateTime={at} title={dateTime(at)}>
      {ago(at, now)}
    </time>
  );
}

function WorkflowRow({ w, now }: { w: Workflow; now: number }) {
  return (
    <tr data-workflow={w.id}>
      <td>
        <Link to={`/workflows/${w.id}`} className="task-link">
          {w.name} <span className="muted">#{w.id}</span>
        </Link>
        {w.run > 1 && <span className="sub muted small">run {w.run}</span>}
      </td>
      <td data-label="State">
        <StateBadge state={w.state} />
      </td>
      <td data-label="Progress" className="progress-col">
        <WorkflowBar w={w} finished={listedFinishedSteps(w)} label={`Progress of workflow ${w.id}`} />
      </td>
      <td data-label="Created">
        <When at={w.created_at} now={now} />
      </td>
      <td data-label="Finished">
        <When at={w.finished_at} now={now} />
      </td>
    </tr>
  );
}

export function WorkflowsPage() {
  const now = useNow();
  const list = useQuery(workflowListQuery);
  const workflows = list.data?.workflows ?? [];
  return (
    <section aria-labelledby="workflows-title">
      <div className="page-head">
        <h1 id="workflows-title" tabIndex={-1}>
          Workflows
        </h1>
      </div>
      <p className="muted">
        Work made of steps that wait for each other, tracked as one: each step is a task of its own.
      </p>
      {list.isPending ? (
        <p className="muted">Loading workflows…</p>
      ) : list.isError ? (
        <ErrorNote error={list.error} prefix="Cannot list the workflows" />
      ) : !workflows.length ? (
        <div className="empty">
          <p>No workflows yet.</p>
          <p>
            Start one from <Link to="/accounts">Accounts</Link>: <strong>Refresh mailbox</strong> syncs a mailbox, classifies
            the new mail in parallel batches, then updates sender reputation and analytics, and shows it all here.
          </p>
        </div>
      ) : (
        <table className="workflows">
          <caption className="sr-only">Your workflows, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Workflow</th>
              <th scope="col">State</th>
              <th scope="col">Progress</th>
              <th scope="col">Created</th>
              <th scope="col">Finished</th>
            </tr>
          </thead>
          <tbody>
            {workflows.map((w) => (
              <WorkflowRow key={w.id} w={w} now={now} />
            ))}
          </tbody>
        </table>
      )}
      {list.data?.next_cursor && <p className="muted small">Only the newest {workflows.length} are shown.</p>}
    </section>
  );
}
