import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ApiError, type Task } from "../api/client";
import { ErrorNote } from "../components/ErrorNote";
import { JsonView } from "../components/JsonView";
import { Link } from "../components/Link";
import { ProgressBar } from "../components/ProgressBar";
import { StateBadge } from "../components/StateBadge";
import { useNow } from "../hooks/useNow";
import { useTaskStatus } from "../hooks/useTaskStatus";
import type { StreamStatus } from "../hooks/useEventStream";
import { ago, dateTime, duration, rate } from "../lib/format";
import { useLocation } from "../router";
import { canCancel, canRetry, cancelTask, isFinished, retryTask, storeCancelAnswer, storeTask } from "../services/tasks";
import { useKindTitle } from "../services/kinds";

function LiveNote({ stream, task }: { stream: StreamStatus; task: Task }) {
  if (isFinished(task.state)) return <span className="live off">Finished</span>;
  if (stream === "live") return <span className="live on">Live</span>;
  if (stream === "reconnecting") return <span className="live warn">Reconnecting…</span>;
  return <span className="live off">Connecting…</span>;
}

function Timeline({ task, now }: { task: Task; now: number }) {
  const waitingFor = Date.parse(task.scheduled_at) - now;
  const steps: { label: string; at?: string; note?: string }[] = [
    { label: "Created", at: task.created_at },
  ];
  if (waitingFor > 1000 && !task.started_at) steps.push({ label: "Runs at", at: task.scheduled_at, note: ago(task.scheduled_at, now) });
  steps.push({
    label: task.attempt > 1 ? `Started (attempt ${task.attempt})` : "Started",
    at: task.started_at,
    note: task.started_at ? `after waiting ${duration(task.wait_seconds)}` : undefined,
  });
  steps.push({
    label: isFinished(task.state) ? `Finished: ${task.state}` : "Finished",
    at: task.finished_at,
    note: task.finished_at && task.started_at ? `ran ${duration(task.run_seconds)}` : undefined,
  });
  return (
    <ol className="timeline">
      {steps.map((s) => (
        <li key={s.label} className={s.at ? "done" : "todo"}>
          <span className="dot" aria-hidden="true" />
          <span className="t-label">{s.label}</span>
          <span className="t-at">{s.at ? <time dateTime={s.at}>{dateTime(s.at)}</time> : "not yet"}</span>
          {s.note && <span className="t-note muted">{s.note}</span>}
        </li>
      ))}
    </ol>
  );
}

export function TaskDetailPage({ id }: { id: number }) {
  const title = useKindTitle();
  const qc = useQueryClient();
  const now = useNow();
  const { task, query, stream } = useTaskStatus(id);
  // While the server is out of reach, what is shown is the last word heard:
  // no rate or ETA that keeps counting, and no button that cannot work.
  const live = (task !== undefined && isFinished(task.state)) || stream !== "reconnecting";
  const offline = "Reconnecting to the server: this is the task as last heard of.";
  const duplicate = useLocation().search.get("duplicate") === "1";
  const control = useMutation({
    mutationFn: (action: "cancel" | "retry") => (action === "cancel" ? cancelTask(id) : retryTask(id)),
    onSuccess: (t, action) => (action === "cancel" ? storeCancelAnswer(qc, t) : storeTask(qc, t)),
  });

  if (query.isPending) return <p className="muted">Loading task #{id}…</p>;
  if (query.isError || !task) {
    return (
      <section>
        <h1 tabIndex={-1}>Task #{id}</h1>
        {query.error instanceof ApiError && query.error.status === 404 ? (
          <p className="error-note" role="alert">
            There is no task #{id} that you can see. Finished tasks are kept for a week, and other people&rsquo;s tasks
            are not shown.
          </p>
        ) : (
          <ErrorNote error={query.error} prefix="Cannot load the task" />
        )}
        <Link to="/">Back to tasks</Link>
      </section>
    );
  }
  const p = task.progress;
  return (
    <section aria-labelledby="task-title">
      <p className="crumbs">
        <Link to="/">Tasks</Link> / #{task.id}
        {task.workflow_id !== undefined && (
          <>
            {" · "}
            <Link to={`/workflows/${task.workflow_id}`}>part of workflow #{task.workflow_id}</Link>
          </>
        )}
      </p>
      <div className="page-head">
        <h1 id="task-title" tabIndex={-1}>
          {title(task.kind)} <span className="muted">#{task.id}</span>
        </h1>
        <div className="actions">
          <StateBadge state={task.state} />
          <LiveNote stream={stream} task={task} />
        </div>
      </div>

      {duplicate && (
        <p className="note" role="status">
          Nothing new was started: this task of the same kind was already queued or ran recently (the kind allows one at a
          time).
        </p>
      )}
      <div className="actions">
        <button
          type="button"
          disabled={!canCancel(task.state) || control.isPending || !live}
          title={live ? undefined : offline}
          onClick={() => control.mutate("cancel")}
        >
          Cancel task
        </button>
        <button
          type="button"
          disabled={!canRetry(task.state) || control.isPending || !live}
          title={live ? undefined : offline}
          onClick={() => control.mutate("retry")}
        >
          Retry task
        </button>
        {!live && !isFinished(task.state) && <span className="hint">{offline}</span>}
      </div>
      <ErrorNote error={control.error} prefix="The action failed" />

      <div className="grid2">
        <div className="card">
          <h2>Progress</h2>
          <ProgressBar progress={p} state={task.state} label="Task progress" detailed />
          <dl className="facts">
            <dt>Done</dt>
            <dd>
              {p ? `${p.done.toLocaleString()}${p.total !== undefined ? ` of ${p.total.toLocaleString()}` : ""}` : "–"}
            </dd>
            <dt>Rate</dt>
            <dd>{isFinished(task.state) || !live ? "–" : rate(p?.rate)}</dd>
            <dt>ETA</dt>
            <dd>{!isFinished(task.state) && live && p?.eta_seconds !== undefined ? duration(p.eta_seconds) : "–"}</dd>
            <dt>Updated</dt>
            <dd>{p ? ago(p.at, now) : "–"}</dd>
          </dl>
        </div>
        <div className="card">
          <h2>Timeline</h2>
          <Timeline task={task} now={now} />
        </div>
      </div>

      <div className="card">
        <h2>Details</h2>
        <dl className="facts wide">
          <dt>Queue</dt>
          <dd>{task.queue}</dd>
          <dt>Priority</dt>
          <dd>{task.priority}</dd>
          <dt>Attempts</dt>
          <dd>
            {task.attempt} of {task.max_attempts}
          </dd>
          <dt>Owner</dt>
          <dd>{task.owner || "system"}</dd>
          {task.schedule_id !== undefined && (
            <>
              <dt>Schedule</dt>
              <dd>
                <Link to="/schedules">#{task.schedule_id}</Link>
              </dd>
            </>
          )}
        </dl>
      </div>

      <div className="card">
        <h2>Attempts and errors</h2>
        {task.errors?.length ? (
          <ol className="errors">
            {task.errors.map((e) => (
              <li key={`${e.attempt}-${e.at}`}>
                <p>
                  <strong>Attempt {e.attempt}</strong> <span className="muted">{dateTime(e.at)}</span>
                </p>
                <pre className="json">{e.error}</pre>
              </li>
            ))}
          </ol>
        ) : (
          <p className="muted">
            {task.attempt ? `No errors in ${task.attempt} attempt${task.attempt === 1 ? "" : "s"}.` : "Not started yet."}
          </p>
        )}
      </div>

      <div className="grid2">
        <div className="card">
          <h2>Arguments</h2>
          <JsonView value={task.args} label="Arguments" />
        </div>
        <div className="card">
          <h2>Result</h2>
          <JsonView value={task.result} label="Result" />
        </div>
      </div>
    </section>
  );
}
