import { useQuery } from "@tanstack/react-query";
import { useEffect } from "react";
import type { AlertEvent } from "../api/client";
import { alertTitle, kindsQuery } from "../services/kinds";
import { Link } from "./Link";

export type Toast = { key: string; alert: AlertEvent };

const TOAST_MS = 10_000;

function ToastItem({ toast, onDismiss }: { toast: Toast; onDismiss: (key: string) => void }) {
  const { alert } = toast;
  const kinds = useQuery(kindsQuery);
  const title = alertTitle(kinds.data, alert.title);
  useEffect(() => {
    const t = setTimeout(() => onDismiss(toast.key), TOAST_MS);
    return () => clearTimeout(t);
  }, [toast.key, onDismiss]);
  return (
    <li className={`toast sev-${alert.severity}`}>
      <div>
        <strong>{title}</strong>
        <p>{alert.message}</p>
        {alert.task_id !== undefined && <Link to={`/tasks/${alert.task_id}`}>Task #{alert.task_id}</Link>}
      </div>
      <button type="button" className="icon" aria-label={`Dismiss: ${title}`} onClick={() => onDismiss(toast.key)}>
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
