import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { Schemas } from "../api/client";
import { ErrorNote } from "../components/ErrorNote";
import { useNow } from "../hooks/useNow";
import { consentOutcome, CONSENT_PARAMS, connectError } from "../lib/consent";
import { ago, count, dateTime, plural } from "../lib/format";
import { navigate, useLocation } from "../router";
import { accountsQuery, connectAccount, disconnectAccount } from "../services/accounts";
import { refreshAccount, workflowKeys } from "../services/workflows";

type Account = Schemas["Account"];

const STATUS: Record<Account["status"], { label: string; className: string; help?: string }> = {
  connected: { label: "Connected", className: "ok" },
  needs_reauth: { label: "Needs reconnecting", className: "paused", help: "Google revoked access: reconnect it to sync again." },
  disconnected: { label: "Disconnected", className: "" },
};

/**
 * ConsentBanner says how a connection ended while the callback's query
 * string is there (so it survives a reload); dismissing it removes that.
 */
function ConsentBanner({ search }: { search: URLSearchParams }) {
  const outcome = consentOutcome(search);
  if (!outcome) return null;
  const dismiss = () => {
    const rest = new URLSearchParams(search);
    for (const p of CONSENT_PARAMS) rest.delete(p);
    const q = rest.toString();
    navigate(q ? `/accounts?${q}` : "/accounts", { replace: true });
  };
  return (
    <div className={`banner ${outcome.ok ? "good" : "bad"}`} role={outcome.ok ? "status" : "alert"}>
      <p>{outcome.message}</p>
      <button type="button" className="small" onClick={dismiss}>
        Dismiss
      </button>
    </div>
  );
}

type RowProps = { a: Account; now: number; onReconnect: () => void; reconnecting: boolean };

function AccountRow({ a, now, onReconnect, reconnecting }: RowProps) {
  const s = STATUS[a.status];
  const qc = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const disconnect = useMutation({
    mutationFn: () => disconnectAccount(a.id),
    onSuccess: () => qc.invalidateQueries({ queryKey: accountsQuery.queryKey }),
  });
  // The workflow's page shows it run; an unfinished refresh of the account
  // is returned instead of a new one (duplicate), and shown the same way.
  const refresh = useMutation({
    mutationFn: () => refreshAccount(a.id),
    onSuccess: ({ workflow, duplicate }) => {
      void qc.invalidateQueries({ queryKey: workflowKeys.lists() });
      navigate(`/workflows/${workflow.id}${duplicate ? "?duplicate=1" : ""}`);
    },
  });
  const stored = a.messages_total !== undefined ? `the ${plural(a.messages_total, "message")} it stored` : "the messages it stored";
  return (
    <tr data-account={a.email}>
      <td>
        <strong>{a.email}</strong>
        <span className="sub muted">connected {ago(a.created_at, now)}</span>
      </td>
      <td data-label="Status">
        <span className={`badge ${s.className}`}>{s.label}</span>
        {s.help && <span className="sub muted small">{s.help}</span>}
      </td>
      <td data-label="Messages">{a.messages_total !== undefined ? count(a.messages_total) : "–"}</td>
      <td data-label="Last sync">
        {a.last_synced_at ? (
          <time dateTime={a.last_synced_at} title={dateTime(a.last_synced_at)}>
            {ago(a.last_synced_at, now)}
          </time>
        ) : (
          <span className="muted">never</span>
        )}
      </td>
      <td className="row-actions">
        {a.status === "connected" && (
          <button
            type="button"
            className="small"
            disabled={refresh.isPending}
            aria-label={`Refresh mailbox ${a.email}`}
            onClick={() => refresh.mutate()}
          >
            {refresh.isPending ? "Starting…" : "Refresh mailbox"}
          </button>
        )}
        {a.status !== "connected" && (
          <button type="button" className="primary small" disabled={reconnecting} onClick={onReconnect}>
            Reconnect
          </button>
        )}
        {refresh.isError && <ErrorNote error={refresh.error} prefix="Not refreshed" />}
        {confirming ? (
          <div className="confirm" role="group" aria-label={`Disconnect ${a.email}`}>
            <p className="small">
              inboxq forgets {a.email}: it deletes its access and {stored}. Your mail in Gmail stays as it is, and
              exports you made stay downloadable.
            </p>
            <button type="button" className="danger small" disabled={disconnect.isPending} onClick={() => disconnect.mutate()}>
              {disconnect.isPending ? "Disconnecting…" : "Disconnect"}
            </button>
            <button type="button" className="small" onClick={() => setConfirming(false)}>
              Keep it
            </button>
            {disconnect.isError && <ErrorNote error={disconnect.error} prefix="Not disconnected" />}
          </div>
        ) : (
          <button type="button" className="small" onClick={() => setConfirming(true)}>
            Disconnect…
          </button>
        )}
      </td>
    </tr>
  );
}

export function AccountsPage() {
  const { search } = useLocation();
  const now = useNow();
  const accounts = useQuery(accountsQuery);
  const connect = useMutation({
    mutationFn: connectAccount,
    // On to Google's consent page; it comes back to this page.
    onSuccess: (url) => window.location.assign(url),
  });
  return (
    <section aria-labelledby="accounts-title">
      <div className="page-head">
        <h1 id="accounts-title" tabIndex={-1}>
          Accounts
        </h1>
      </div>
      <ConsentBanner search={search} />
      <p className="muted">The Gmail mailboxes inboxq works on for you.</p>
      {accounts.isPending ? (
        <p className="muted">Loading accounts…</p>
      ) : accounts.isError ? (
        <ErrorNote error={accounts.error} prefix="Cannot list the accounts" />
      ) : !accounts.data.length ? (
        <p className="empty">No Gmail account connected yet.</p>
      ) : (
        <table className="accounts">
          <caption className="sr-only">Your Gmail accounts</caption>
          <thead>
            <tr>
              <th scope="col">Account</th>
              <th scope="col">Status</th>
              <th scope="col">Messages</th>
              <th scope="col">Last sync</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {accounts.data.map((a) => (
              <AccountRow
                key={a.id}
                a={a}
                now={now}
                reconnecting={connect.isPending || connect.isSuccess}
                onReconnect={() => connect.mutate()}
              />
            ))}
          </tbody>
        </table>
      )}
      <div className="actions connect">
        <button type="button" className="primary" disabled={connect.isPending || connect.isSuccess} onClick={() => connect.mutate()}>
          {connect.isPending || connect.isSuccess ? "Opening Google…" : "Connect a Gmail account"}
        </button>
        {connect.isError && (
          <p className="error-note" role="alert">
            {connectError(connect.error)}
          </p>
        )}
      </div>
      <p className="muted small">
        Google asks you to allow access, then brings you back here. Finish in this browser: a connection started
        elsewhere is refused.
      </p>
    </section>
  );
}
