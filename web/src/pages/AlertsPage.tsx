import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ErrorNote } from "../components/ErrorNote";
import { Link } from "../components/Link";
import { useNow } from "../hooks/useNow";
import { ago, dateTime } from "../lib/format";
import { alertKeys, alertsQuery, markAlertsRead } from "../services/alerts";
import { alertTitle, kindsQuery } from "../services/kinds";

export function AlertsPage() {
  const kinds = useQuery(kindsQuery);
  const qc = useQueryClient();
  const now = useNow();
  const alerts = useQuery(alertsQuery);
  const mark = useMutation({
    mutationFn: (ids: number[]) => markAlertsRead(ids),
    onSuccess: () => qc.invalidateQueries({ queryKey: alertKeys.all }),
  });
  const unread = (alerts.data ?? []).filter((a) => !a.read_at).map((a) => a.id);

  return (
    <section aria-labelledby="alerts-title">
      <div className="page-head">
        <h1 id="alerts-title" tabIndex={-1}>
          Alerts
        </h1>
        <button type="button" disabled={!unread.length || mark.isPending} onClick={() => mark.mutate(unread)}>
          Mark all read
        </button>
      </div>
      <ErrorNote error={mark.error} prefix="Cannot mark read" />
      {alerts.isPending ? (
        <p className="muted">Loading alerts…</p>
      ) : alerts.isError ? (
        <ErrorNote error={alerts.error} prefix="Cannot list alerts" />
      ) : !alerts.data.length ? (
        <p className="empty">No alerts. Failed tasks and health problems will show up here.</p>
      ) : (
        <ul className="alerts">
          {alerts.data.map((a) => (
            <li key={a.id} className={`card alert sev-${a.severity}${a.read_at ? " read" : ""}`}>
              <div className="alert-head">
                <span className={`badge sev-${a.severity}`}>{a.severity}</span>
                <strong>{alertTitle(kinds.data, a.title)}</strong>
                {!a.read_at && <span className="badge unread">unread</span>}
                {a.system && a.resolved_at && <span className="badge resolved">resolved</span>}
              </div>
              <p>{a.message}</p>
              <p className="muted small">
                <time dateTime={a.created_at} title={dateTime(a.created_at)}>
                  {ago(a.created_at, now)}
                </time>
                {a.system && " · system health"}
                {a.task_id !== undefined && (
                  <>
                    {" · "}
                    <Link to={`/tasks/${a.task_id}`}>See task #{a.task_id}</Link>
                  </>
                )}
              </p>
              {!a.read_at && (
                <button type="button" className="small" disabled={mark.isPending} onClick={() => mark.mutate([a.id])}>
                  Mark read<span className="sr-only">: {a.title}</span>
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
