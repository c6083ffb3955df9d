import type { TaskState } from "../api/client";

/** StateBadge is a task state as a coloured label (text, never colour alone). */
export function StateBadge({ state }: { state: TaskState }) {
  return <span className={`badge state-${state}`}>{state}</span>;
}
