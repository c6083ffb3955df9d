import { useEffect } from "react";
import type { AlertEvent } from "../api/client";
import { Link } from "./Link";

export type Toast = { key: string; alert: AlertEvent };

const TOAST_MS = 10_000;

function ToastItem({ toast, onDismiss }: { toast: Toast; onDismiss: (key: string) => void }) {
  const { alert } = toast;
  useEffect(() => {
    const t = setTimeout(() => onDismiss(toast.key), TOAST_MS);
    return () => clearTimeout(t);
  }, [toast.key, onDismiss]);
  return (
    <li className={`toast sev-${alert.severity}`}>
      <div>
        <strong>{alert.title}</strong>
        <p>{alert.message}</p>
        {alert.task_id !== undefined && <Link to={`/tasks/${alert.task_id}`}>Task #{alert.task_id}</Link>}
      </div>
      <button type="button" className="icon" aria-label={`Dismiss: ${alert.title}`} onClick={() => onDismiss(toast.key)}>
        ×
      </button>
    </li>
  );
}

/** Toasts shows live alerts for a few seconds, announced politely. */
export function Toasts({ toasts, onDismiss }: { toasts: Toast[]; onDismiss: (key: string) => void }) {
  return (
    <ol className="toasts" aria-live="polite" aria-label="Notifications">
      {toasts.map((t) => (
        <ToastItem key={t.key} toast={t} onDismiss={onDismiss} />
      ))}
    </ol>
  );
}
