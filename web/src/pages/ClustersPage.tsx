import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ErrorNote } from "../components/ErrorNote";
import { Link } from "../components/Link";
import { count, dateTime, plural } from "../lib/format";
import { accountsQuery, messageCountQuery } from "../services/accounts";
import { archiveTask, clusterKeys, clusterListQuery, clusterTask, dateSpan, unreadShare, type Cluster } from "../services/clusters";
import { createTask } from "../services/tasks";

/**
 * ArchiveAll previews how many of the cluster's messages an archive would
 * touch now (the same count-messages preview as every bulk target), asks
 * for confirmation, then starts bulk_archive_emails and links to its task.
 */
function ArchiveAll({ c }: { c: Cluster }) {
  const [confirming, setConfirming] = useState(false);
  const preview = useQuery({ ...messageCountQuery(c.account_id, { cluster_id: c.id }), enabled: confirming });
  const start = useMutation({ mutationFn: () => createTask(archiveTask(c)) });
  if (start.isSuccess) {
    return (
      <p className="small" role="status">
        Archiving: <Link to={`/tasks/${start.data.id}`}>task #{start.data.id}</Link>
      </p>
    );
  }
  if (!confirming) {
    return (
      <button type="button" className="small" onClick={() => setConfirming(true)}>
        Archive all…
      </button>
    );
  }
  return (
    <div className="confirm" role="group" aria-label={`Archive ${c.label}`}>
      <p className="small">
        {preview.isPending
          ? "Counting…"
          : preview.isError
            ? "Cannot count them."
            : `Archive ${plural(preview.data, "message")} of ${c.label}? They leave your inbox in Gmail and stay in All Mail.`}
      </p>
      <button
        type="button"
        className="primary small"
        disabled={!preview.isSuccess || preview.data === 0 || start.isPending}
        onClick={() => start.mutate()}
      >
        {start.isPending ? "Starting…" : preview.isSuccess ? `Archive ${plural(preview.data, "message")}` : "Archive"}
      </button>
      <button type="button" className="small" onClick={() => setConfirming(false)}>
        Keep them
      </button>
      {preview.isError && <ErrorNote error={preview.error} prefix="No preview" />}
      {start.isError && <ErrorNote error={start.error} prefix="Not started" />}
    </div>
  );
}

function ClusterRow({ c }: { c: Cluster }) {
  return (
    <tr data-cluster={c.id}>
      <td>
        <strong>{c.label}</strong>
        <span className="sub muted small">{c.sender}</span>
        {c.examples && c.examples.length > 0 && (
          <ul className="examples small muted" aria-label="Examples">
            {c.examples.map((s, i) => (
              <li key={i}>{s}</li>
            ))}
          </ul>
        )}
      </td>
      <td data-label="Messages">{count(c.size)}</td>
      <td data-label="Dates" title={`${dateTime(c.first)} – ${dateTime(c.last)}`}>
        {dateSpan(c.first, c.last)}
      </td>
      <td data-label="Unread">{unreadShare(c)}</td>
      <td className="row-actions">
        <ArchiveAll c={c} />
      </td>
    </tr>
  );
}

export function ClustersPage() {
  const qc = useQueryClient();
  const accounts = useQuery(accountsQuery);
  const clusters = useQuery(clusterListQuery(0));
  const connected = (accounts.data ?? []).filter((a) => a.status === "connected");
  const find = useMutation({
    mutationFn: () => Promise.all(connected.map((a) => createTask(clusterTask(a.id)))),
    onSuccess: () => qc.invalidateQueries({ queryKey: clusterKeys.all }),
  });
  return (
    <section aria-labelledby="clusters-title">
      <div className="page-head">
        <h1 id="clusters-title" tabIndex={-1}>
          Clusters
        </h1>
        <div className="actions">
          <button type="button" onClick={() => void clusters.refetch()}>
            Refresh
          </button>
          <button type="button" className="primary" disabled={!connected.length || find.isPending} onClick={() => find.mutate()}>
            {find.isPending ? "Starting…" : "Find clusters"}
          </button>
        </div>
      </div>
      <p className="muted">
        Mail that belongs together (a newsletter, one service&apos;s notifications, a campaign), biggest first. Archive a
        whole cluster at once.
      </p>
      {find.isSuccess && (
        <p role="status" className="small">
          Grouping your mail:{" "}
          {find.data.map((t, i) => (
            <span key={t.id}>
              {i > 0 && ", "}
              <Link to={`/tasks/${t.id}`}>task #{t.id}</Link>
            </span>
          ))}
          . Refresh when it is done.
        </p>
      )}
      {find.isError && <ErrorNote error={find.error} prefix="Not started" />}
      {clusters.isPending ? (
        <p className="muted">Loading clusters…</p>
      ) : clusters.isError ? (
        <ErrorNote error={clusters.error} prefix="Cannot list the clusters" />
      ) : !clusters.data.clusters.length ? (
        <p className="empty">No clusters yet: sync a mailbox, then find clusters.</p>
      ) : (
        <table className="clusters">
          <caption className="sr-only">Your clusters, biggest first</caption>
          <thead>
            <tr>
              <th scope="col">Cluster</th>
              <th scope="col">Messages</th>
              <th scope="col">Dates</th>
              <th scope="col">Unread</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {clusters.data.clusters.map((c) => (
              <ClusterRow key={c.id} c={c} />
            ))}
          </tbody>
        </table>
      )}
      {clusters.data?.more && <p className="muted small">The {count(clusters.data.clusters.length)} biggest are shown.</p>}
    </section>
  );
}
