import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ApiError } from "../api/client";
import { ErrorNote } from "../components/ErrorNote";
import { Link } from "../components/Link";
import { ProgressBar } from "../components/ProgressBar";
import { StateBadge } from "../components/StateBadge";
import { StepBadge, WorkflowBar } from "../components/WorkflowBits";
import { count, dateTime, duration } from "../lib/format";
import { layoutGraph, type Metrics } from "../lib/workflowGraph";
import { useLocation } from "../router";
import { useKindTitle } from "../services/kinds";
import { isFinished } from "../services/tasks";
import {
  canCancelWorkflow,
  canRetryWorkflow,
  cancelWorkflow,
  finishedSteps,
  retryWorkflow,
  stepStatus,
  workflowKeys,
  workflowQuery,
  type Workflow,
  type WorkflowStep,
} from "../services/workflows";

// Every card has the same size, so the diagram is laid out without
// measuring the page: see lib/workflowGraph.
const CARD: Metrics = { width: 230, height: 136, colGap: 44, rowGap: 12 };

function StepCard({ s, title }: { s: WorkflowStep; title: (kind: string) => string }) {
  const deps = s.deps ?? [];
  return (
    <>
      <div className="wf-step-head">
        <Link to={`/tasks/${s.task_id}`} className="wf-step-name" title={`Task #${s.task_id}`}>
          {s.name}
        </Link>
        <StepBadge step={s} />
      </div>
      <span className="sub muted small wf-clip">{title(s.kind)}</span>
      <ProgressBar progress={s.progress} state={s.state} label={`Progress of step ${s.name}`} />
      {deps.length > 0 && (
        <p className="small muted wf-clip" title={deps.join(", ")}>
          waits for: {deps.join(", ")}
        </p>
      )}
      {s.error && (
        <p className="small wf-error wf-clip" title={s.error}>
          {s.error}
        </p>
      )}
    </>
  );
}

/**
 * StepGraph draws the steps in columns by depth, each dep joined to its
 * dependents; a connector from a completed step is drawn solid. The cards
 * are a list, read in order by screen readers, each naming what it waits for.
 */
function StepGraph({ steps }: { steps: WorkflowStep[] }) {
  const title = useKindTitle();
  const g = layoutGraph(steps, CARD);
  const done = new Set(steps.filter((s) => s.outcome === "completed").map((s) => s.name));
  return (
    <div className="wf-scroll">
      <div className="wf-graph" style={{ width: g.width, height: g.height }}>
        <svg className="wf-edges" width={g.width} height={g.height} aria-hidden="true">
          {g.edges.map((e) => {
            const mx = (e.x1 + e.x2) / 2;
            return (
              <path
                key={`${e.from}>${e.to}`}
                className={done.has(e.from) ? "done" : undefined}
                d={`M${e.x1},${e.y1} C${mx},${e.y1} ${mx},${e.y2} ${e.x2},${e.y2}`}
              />
            );
          })}
        </svg>
        <ol className="wf-steps" aria-label="Steps">
          {steps.map((s) => {
            const at = g.boxes.get(s.name);
            return (
              <li
                key={s.name}
                className={`wf-step status-${stepStatus(s)}`}
                data-step={s.name}
                style={{ left: at?.x, top: at?.y, width: CARD.width, height: CARD.height }}
              >
                <StepCard s={s} title={title} />
              </li>
            );
          })}
        </ol>
      </div>
    </div>
  );
}

function Counts({ w }: { w: Workflow }) {
  const p = w.progress;
  const parts: [string, number][] = [
    ["completed", p.completed],
    ["running", p.running],
    ["waiting", p.waiting],
    ["failed", p.failed],
    ["cancelled", p.cancelled],
    ["skipped", p.skipped],
  ];
  return (
    <ul className="wf-counts" aria-label="Steps by state">
      {parts.map(([name, n]) => (
        <li key={name} className={n ? undefined : "muted"}>
          <strong>{count(n)}</strong> {name}
        </li>
      ))}
    </ul>
  );
}

export function WorkflowDetailPage({ id }: { id: number }) {
  const qc = useQueryClient();
  const query = useQuery(workflowQuery(id));
  const duplicate = useLocation().search.get("duplicate") === "1";
  const control = useMutation({
    mutationFn: (action: "cancel" | "retry") => (action === "cancel" ? cancelWorkflow(id) : retryWorkflow(id)),
    onSuccess: (w) => {
      qc.setQueryData(workflowKeys.detail(id), w);
      void qc.invalidateQueries({ queryKey: workflowKeys.lists() });
    },
  });

  if (query.isPending) return <p className="muted">Loading workflow #{id}…</p>;
  if (query.isError) {
    return (
      <section>
        <h1 tabIndex={-1}>Workflow #{id}</h1>
        {query.error instanceof ApiError && query.error.status === 404 ? (
          <p className="error-note" role="alert">
            There is no workflow #{id} that you can see. Other people&rsquo;s workflows are not shown.
          </p>
        ) : (
          <ErrorNote error={query.error} prefix="Cannot load the workflow" />
        )}
        <Link to="/workflows">Back to workflows</Link>
      </section>
    );
  }
  const w = query.data;
  const steps = w.steps ?? [];
  const eta = w.progress.eta_seconds;
  return (
    <section aria-labelledby="workflow-title">
      <p className="crumbs">
        <Link to="/workflows">Workflows</Link> / #{w.id}
      </p>
      <div className="page-head">
        <h1 id="workflow-title" tabIndex={-1}>
          {w.name} <span className="muted">#{w.id}</span>
        </h1>
        <div className="actions">
          <StateBadge state={w.state} />
        </div>
      </div>
      {duplicate && (
        <p className="note" role="status">
          Nothing new was started: this refresh of the account was not finished yet.
        </p>
      )}
      <div className="actions">
        <button
          type="button"
          disabled={!canCancelWorkflow(w.state) || control.isPending}
          onClick={() => control.mutate("cancel")}
        >
          Cancel workflow
        </button>
        <button
          type="button"
          disabled={!canRetryWorkflow(w.state) || control.isPending}
          onClick={() => control.mutate("retry")}
        >
          Retry workflow
        </button>
      </div>
      <ErrorNote error={control.error} prefix="The action failed" />

      <div className="card">
        <h2>Progress</h2>
        <WorkflowBar w={w} finished={finishedSteps(w)} label="Workflow progress" />
        <Counts w={w} />
        <dl className="facts wide">
          <dt>Steps</dt>
          <dd>
            {count(finishedSteps(w))} of {count(w.progress.total)} finished
          </dd>
          <dt>ETA</dt>
          <dd>{!isFinished(w.state) && eta !== undefined ? duration(eta) : "–"}</dd>
          <dt>Started</dt>
          <dd>{w.started_at ? dateTime(w.started_at) : "not yet"}</dd>
          <dt>Finished</dt>
          <dd>{w.finished_at ? dateTime(w.finished_at) : "not yet"}</dd>
          {w.cancelled_at && (
            <>
              <dt>Cancelled</dt>
              <dd>{dateTime(w.cancelled_at)}</dd>
            </>
          )}
          <dt>If a step fails</dt>
          <dd>{w.policy === "stop" ? "what waits for it is skipped" : "the rest runs anyway"}</dd>
          {w.run > 1 && (
            <>
              <dt>Run</dt>
              <dd>{w.run}</dd>
            </>
          )}
        </dl>
      </div>

      <div className="card">
        <h2>Steps</h2>
        {steps.length ? <StepGraph steps={steps} /> : <p className="muted">No steps.</p>}
      </div>
    </section>
  );
}
