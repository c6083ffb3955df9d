import type { ProgressEvent, TaskState } from "../api/client";
import { count } from "../lib/format";

type Props = {
  progress?: ProgressEvent;
  state: TaskState;
  /** Accessible name, e.g. "Progress of task 42". */
  label: string;
  /** Also show stage and message under the bar. */
  detailed?: boolean;
};

/** percentOf is the share done, or undefined while the total is unknown. */
export function percentOf(progress: ProgressEvent | undefined, state: TaskState): number | undefined {
  if (state === "completed") return 100;
  if (!progress) return state === "pending" || state === "scheduled" ? 0 : undefined;
  if (progress.percent !== undefined) return Math.min(100, Math.max(0, progress.percent));
  if (progress.total) return Math.min(100, Math.max(0, (progress.done / progress.total) * 100));
  return undefined;
}

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
  const text = [rounded !== undefined ? `${rounded}%` : "", counts, progress?.stage ?? ""]
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
      {detailed && (progress?.stage || progress?.message) && (
        <p className="progress-detail">
          {progress?.stage && <strong>{progress.stage}</strong>}
          {progress?.stage && progress?.message && " · "}
          {progress?.message}
        </p>
      )}
    </div>
  );
}
