import type { ProgressEvent, TaskState } from "../api/client";

/** percentOf is the share done, or undefined while the total is unknown. */
export function percentOf(progress: ProgressEvent | undefined, state: TaskState): number | undefined {
  if (state === "completed") return 100;
  if (!progress) return state === "pending" || state === "scheduled" ? 0 : undefined;
  if (progress.percent !== undefined) return Math.min(100, Math.max(0, progress.percent));
  if (progress.total) return Math.min(100, Math.max(0, (progress.done / progress.total) * 100));
  return undefined;
}
