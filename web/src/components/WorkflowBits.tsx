import type { TaskState } from "../api/client";
import { count } from "../lib/format";
import { stepStatus, type Workflow, type WorkflowStep } from "../services/workflows";

/** StepBadge is a step's state, or how it ended ("skipped" looks its own way). */
export function StepBadge({ step }: { step: WorkflowStep }) {
  const status = stepStatus(step);
  return <span className={`badge state-${status}`}>{status}</span>;
}

function tone(state: TaskState): string {
  if (state === "failed") return "bad";
  if (state === "cancelled" || state === "cancelling") return "muted";
  return state === "completed" ? "good" : "";
}

/**
 * WorkflowBar is a workflow's rolled-up progress (the server's percent:
 * finished steps whole, running ones by their own progress) with its steps
 * finished out of the total.
 */
export function WorkflowBar({ w, finished, label }: { w: Workflow; finished: number; label: string }) {
  const pct = Math.floor(Math.min(100, Math.max(0, w.progress.percent)));
  const steps = `${count(finished)} of ${count(w.progress.total)} steps`;
  return (
    <div className={`progress ${tone(w.state)}`}>
      <div
        className="progress-track"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
        aria-valuetext={`${pct}%, ${steps} finished`}
      >
        <div className="progress-fill" style={{ width: `${pct}%` }} />
      </div>
      <span className="progress-text" aria-hidden="true">
        {pct}%
      </span>
      <span className="progress-detail small muted">{steps}</span>
    </div>
  );
}
