import type { Task } from "../api/client";
import { useNow } from "../hooks/useNow";
import { ago, duration, rate } from "../lib/format";
import { isFinished } from "../services/tasks";
import { Link } from "./Link";
import { ProgressBar } from "./ProgressBar";
import { StateBadge } from "./StateBadge";
import { useKindTitle } from "../services/kinds";

type Props = {
  tasks: Task[];
  /** Selection, for lists with actions on selected tasks; without onSelect, no checkboxes. */
  selected?: ReadonlySet<number>;
  onSelect?: (ids: number[], selected: boolean) => void;
};

const NONE: ReadonlySet<number> = new Set();

function eta(t: Task): string {
  if (isFinished(t.state)) return "–";
  const s = t.progress?.eta_seconds;
  return s === undefined ? "–" : duration(s);
}

/** Cell is a value column; an empty one ("–") is left out on narrow screens. */
function Cell({ label, value }: { label: string; value: string }) {
  return (
    <td data-label={label} className={value === "–" ? "na" : undefined}>
      {value}
    </td>
  );
}

/**
 * TaskList is the table of tasks: state, kind, progress, rate, ETA and age,
 * with a checkbox per row for bulk actions. On a narrow screen each row
 * becomes a card (styles.css).
 */
export function TaskList({ tasks, selected = NONE, onSelect }: Props) {
  const title = useKindTitle();
  const now = useNow();
  const ids = tasks.map((t) => t.id);
  const all = ids.length > 0 && ids.every((id) => selected.has(id));
  const some = !all && ids.some((id) => selected.has(id));
  if (!tasks.length) return <p className="empty">No tasks match.</p>;
  return (
    <table className="tasks">
      <caption className="sr-only">Tasks, newest first</caption>
      <thead>
        <tr>
          {onSelect && (
            <th scope="col" className="select">
              <input
                type="checkbox"
                aria-label="Select all shown tasks"
                checked={all}
                ref={(el) => {
                  if (el) el.indeterminate = some;
                }}
                onChange={(e) => onSelect(ids, e.target.checked)}
              />
            </th>
          )}
          <th scope="col">Task</th>
          <th scope="col">State</th>
          <th scope="col" className="progress-col">
            Progress
          </th>
          <th scope="col">Rate</th>
          <th scope="col">ETA</th>
          <th scope="col">Age</th>
        </tr>
      </thead>
      <tbody>
        {tasks.map((t) => (
          <tr key={t.id} data-task-id={t.id} className={selected.has(t.id) ? "is-selected" : undefined}>
            {onSelect && (
              <td className="select">
                <input
                  type="checkbox"
                  aria-label={`Select task ${t.id}`}
                  checked={selected.has(t.id)}
                  onChange={(e) => onSelect([t.id], e.target.checked)}
                />
              </td>
            )}
            <td className="task-cell">
              <Link to={`/tasks/${t.id}`} className="task-link">
                <span className="kind">{title(t.kind)}</span> <span className="muted">#{t.id}</span>
              </Link>
              <span className="sub muted">
                {t.queue}
                {t.owner ? ` · ${t.owner}` : ""}
                {t.attempt > 1 ? ` · attempt ${t.attempt}/${t.max_attempts}` : ""}
              </span>
            </td>
            <td data-label="State">
              <StateBadge state={t.state} />
            </td>
            <td data-label="Progress" className="progress-col">
              <ProgressBar progress={t.progress} state={t.state} label={`Progress of task ${t.id}`} />
            </td>
            <Cell label="Rate" value={isFinished(t.state) ? "–" : rate(t.progress?.rate)} />
            <Cell label="ETA" value={eta(t)} />
            <td data-label="Age">
              <time dateTime={t.created_at} title={new Date(t.created_at).toLocaleString()}>
                {ago(t.created_at, now)}
              </time>
              {t.state === "scheduled" && Date.parse(t.scheduled_at) > now && (
                <span className="sub muted">runs {ago(t.scheduled_at, now)}</span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
