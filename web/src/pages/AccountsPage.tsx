import { useMutation, useQuery } from "@tanstack/react-query";
import type { Schemas } from "../api/client";
import { ErrorNote } from "../components/ErrorNote";
import { useNow } from "../hooks/useNow";
import { consentOutcome, CONSENT_PARAMS, connectError } from "../lib/consent";
import { ago, count, dateTime } from "../lib/format";
import { navigate, useLocation } from "../router";
import { accountsQuery, connectAccount } from "../services/accounts";

type Account = Schemas["Account"];

const STATUS: Record<Account["status"], { label: string; className: string; help?: string }> = {
  connected: { label: "Connected", className: "ok" },
  needs_reauth: { label: "Needs reconnecting", className: "paused", help: "Google revoked access: connect it again." },
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

function AccountRow({ a, now }: { a: Account; now: number }) {
  const s = STATUS[a.status];
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
            </tr>
          </thead>
          <tbody>
            {accounts.data.map((a) => (
              <AccountRow key={a.id} a={a} now={now} />
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
