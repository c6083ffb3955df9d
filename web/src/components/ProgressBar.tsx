import type { ProgressEvent, TaskState } from "../api/client";
import { count } from "../lib/format";
import { percentOf } from "../lib/progress";

type Props = {
  progress?: ProgressEvent;
  state: TaskState;
  /** Accessible name, e.g. "Progress of task 42". */
  label: string;
  /** Also show stage and message under the bar. */
  detailed?: boolean;
};

/**
 * ProgressBar shows how far a task got: determinate when the total is
 * known (aria-valuenow), indeterminate otherwise, with the counts as text.
 */
export function ProgressBar({ progress, state, label, detailed }: Props) {
  const pct = percentOf(progress, state);
  const rounded = pct === undefined ? undefined : Math.floor(pct);
  const counts = progress
    ? progress.total !== undefined
      ? `${count(progress.done)} of ${count(progress.total)}`
      : `${count(progress.done)} done`
    : "";
  // A task that stopped is no longer "fetching · page 9": it says where it
  // stopped, in the past.
  const stopped = state === "cancelled" || state === "failed";
  const stage = stopped ? (progress?.stage ? `${state === "failed" ? "failed" : "cancelled"} while ${progress.stage}` : "") : progress?.stage;
  const message = stopped ? (progress?.message ? `at ${progress.message}` : "") : progress?.message;
  const text = [rounded !== undefined ? `${rounded}%` : "", counts, stage ?? ""]
    .filter(Boolean)
    .join(", ");
  const tone = state === "failed" ? "bad" : state === "cancelled" || state === "cancelling" ? "muted" : state === "completed" ? "good" : "";
  const active = state === "running" || state === "cancelling";
  return (
    <div className={`progress ${tone}`}>
      <div
        className={`progress-track${pct === undefined && active ? " indeterminate" : ""}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={rounded}
        aria-valuetext={text || "not started"}
      >
        <div className="progress-fill" style={{ width: `${pct ?? (active ? 100 : 0)}%` }} />
      </div>
      <span className="progress-text" aria-hidden="true">
        {rounded !== undefined ? `${rounded}%` : counts || "–"}
      </span>
      {detailed && (stage || message) && (
        <p className="progress-detail">
          {stage && <strong>{stage}</strong>}
          {stage && message && " · "}
          {message}
        </p>
      )}
    </div>
  );
}
