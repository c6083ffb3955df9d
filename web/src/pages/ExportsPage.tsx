import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ErrorNote } from "../components/ErrorNote";
import { Link } from "../components/Link";
import { useNow } from "../hooks/useNow";
import { ago, dateTime, plural } from "../lib/format";
import { downloadExport, exportsQuery, type Export } from "../services/exports";
import { useKindTitle } from "../services/kinds";
import { createTask, storeTask } from "../services/tasks";

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

const STARTERS = [
  { kind: "export_user_data", label: "Export my data", help: "Downloadable for 7 days." },
  { kind: "backup_user_data", label: "Back up my data", help: "The newest 5 backups are kept." },
] as const;

function ExportRow({ e, now }: { e: Export; now: number }) {
  const download = useMutation({ mutationFn: () => downloadExport(e) });
  return (
    <tr>
      <td>
        <span className="badge">{e.kind === "backup" ? "Backup" : "Export"}</span> #{e.id}
      </td>
      <td>
        <time dateTime={e.created_at} title={dateTime(e.created_at)}>
          {ago(e.created_at, now)}
        </time>
      </td>
      <td>{e.expires_at ? dateTime(e.expires_at) : "kept (newest 5)"}</td>
      <td>
        {plural(e.counts.messages, "message")}, {plural(e.counts.accounts, "account")}, {plural(e.counts.tasks, "task")}
      </td>
      <td>{size(e.size)}</td>
      <td>
        <Link to={`/tasks/${e.task_id}`}>Task #{e.task_id}</Link>
      </td>
      <td>
        <button type="button" className="small" disabled={download.isPending} onClick={() => download.mutate()}>
          {download.isPending ? "Downloading…" : "Download"}
          <span className="sr-only">
            {" "}
            {e.kind} #{e.id}
          </span>
        </button>
        <ErrorNote error={download.error} prefix="Cannot download" />
      </td>
    </tr>
  );
}

export function ExportsPage() {
  const title = useKindTitle();
  const qc = useQueryClient();
  const now = useNow();
  const [started, setStarted] = useState<{ kind: string; id: number } | null>(null);
  // After starting one, look again until it is written.
  const exports = useQuery({ ...exportsQuery, refetchInterval: started ? 5_000 : false });
  const start = useMutation({
    mutationFn: (kind: string) => createTask({ kind, args: {} }),
    onSuccess: (t) => {
      storeTask(qc, t);
      setStarted({ kind: t.kind, id: t.id });
    },
  });

  return (
    <section aria-labelledby="exports-title">
      <div className="page-head">
        <h1 id="exports-title" tabIndex={-1}>
          Exports
        </h1>
        <div className="actions">
          {STARTERS.map((s) => (
            <button
              key={s.kind}
              type="button"
              title={s.help}
              disabled={start.isPending}
              onClick={() => start.mutate(s.kind)}
            >
              {s.label}
            </button>
          ))}
        </div>
      </div>
      <p className="muted">
        Your accounts (never their tokens), message metadata, labels and task history, as one .tar.gz archive.
      </p>
      <ErrorNote error={start.error} prefix="Not started" />
      {started && (
        <p role="status">
          Started {title(started.kind)}: <Link to={`/tasks/${started.id}`}>task #{started.id}</Link>. Its archive appears
          below when it finishes.
        </p>
      )}
      {exports.isPending ? (
        <p className="muted">Loading exports…</p>
      ) : exports.isError ? (
        <ErrorNote error={exports.error} prefix="Cannot list exports" />
      ) : !exports.data.length ? (
        <p className="empty">No exports or backups yet.</p>
      ) : (
        <table className="exports">
          <caption className="sr-only">Exports and backups</caption>
          <thead>
            <tr>
              <th scope="col">Archive</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Holds</th>
              <th scope="col">Size</th>
              <th scope="col">Task</th>
              <th scope="col">
                <span className="sr-only">Download</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {exports.data.map((e) => (
              <ExportRow key={e.id} e={e} now={now} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
