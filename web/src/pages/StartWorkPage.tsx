import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { isLimited } from "../api/client";
import type { Args } from "../components/ArgsForm";
import { BulkPreview } from "../components/BulkPreview";
import { ErrorNote } from "../components/ErrorNote";
import { KindArgs } from "../components/KindArgs";
import { LimitNote } from "../components/LimitNote";
import { Link } from "../components/Link";
import { useBulkPreview } from "../hooks/useBulkPreview";
import { fieldErrors } from "../lib/fieldErrors";
import { precheck } from "../lib/precheck";
import { navigate } from "../router";
import { kindsQuery, schemasQuery } from "../services/kinds";
import { accountsQuery } from "../services/accounts";
import { isAdminQuery } from "../services/queues";
import { createTask, storeTask, type NewTask } from "../services/tasks";

const OPTION_FIELDS = new Set(["kind", "priority", "run_at", "max_attempts", "args"]);

export function StartWorkPage() {
  const qc = useQueryClient();
  const kinds = useQuery(kindsQuery);
  const schemas = useQuery(schemasQuery);
  const admin = useQuery(isAdminQuery);
  const accounts = useQuery(accountsQuery);
  const noAccount = accounts.isSuccess && !accounts.data.some((a) => a.status === "connected");
  const [kindName, setKindName] = useState("");
  const [args, setArgs] = useState<Args>({});
  const [priority, setPriority] = useState("");
  const [maxAttempts, setMaxAttempts] = useState("");
  const [runAt, setRunAt] = useState("");

  const kind = kinds.data?.find((k) => k.name === kindName);
  // Bulk kinds: a count of what the target selects, and a confirmation of
  // that count (for this account, target and count) before Start.
  const preview = useBulkPreview(kindName, args);
  const [confirmedFor, setConfirmedFor] = useState("");
  const confirmed = preview.token !== undefined && confirmedFor === preview.token;
  // What the server would refuse before starting, said beside Start.
  const refused = kindName ? precheck(kindName, args, accounts.data) : undefined;
  const create = useMutation({
    mutationFn: (t: NewTask) => createTask(t),
    onSuccess: (t) => {
      storeTask(qc, t);
      // A duplicate is the task already in flight (the kind's uniqueness
      // rule): show that one, saying so.
      navigate(t.duplicate ? `/tasks/${t.id}?duplicate=1` : `/tasks/${t.id}`);
    },
  });
  // A refusal for a per-user limit (429) goes beside Start, where the click was.
  const limited = isLimited(create.error);
  const { byField, other } = fieldErrors(limited ? null : create.error, (f) => OPTION_FIELDS.has(f) || f.startsWith("args."));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!kindName || refused || (preview.applies && !confirmed)) return;
    const t: NewTask = { kind: kindName, args };
    if (priority) t.priority = Number(priority);
    if (maxAttempts) t.max_attempts = Number(maxAttempts);
    if (runAt) t.run_at = new Date(runAt).toISOString();
    create.mutate(t);
  };

  const err = (name: string) =>
    byField[name] ? (
      <span id={`${name}-err`} className="field-error">
        {byField[name]}
      </span>
    ) : null;

  return (
    <section aria-labelledby="start-title">
      <h1 id="start-title" tabIndex={-1}>
        Start work
      </h1>
      <p className="muted">Choose what inboxq should do, and on which mailbox. You can watch it, cancel it or retry it from its page.</p>
      {noAccount && (
        <div className="banner info" role="status">
          <p>
            {accounts.data?.length ? "None of your Gmail accounts is connected now" : "You have no Gmail account connected yet"}
            : syncs, bulk actions and exports work on one. <Link to="/accounts">Connect a Gmail account</Link> first; Google
            asks you to allow access, then brings you back.
          </p>
        </div>
      )}
      <ErrorNote error={kinds.error} prefix="Cannot list the kinds" />
      <form className="card form" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="kind">Kind</label>
          <select
            id="kind"
            value={kindName}
            required
            aria-describedby="kind-help kind-err"
            aria-invalid={byField.kind ? true : undefined}
            onChange={(e) => {
              setKindName(e.target.value);
              setArgs({});
              setConfirmedFor("");
              create.reset();
            }}
          >
            <option value="">Choose a kind…</option>
            {(kinds.data ?? []).map((k) => (
              <option key={k.name} value={k.name} disabled={k.admin_only && admin.data === false}>
                {k.title}
                {k.admin_only ? " (admins)" : ""}
              </option>
            ))}
          </select>
          <span id="kind-help" className="help">
            {kind ? kind.description : "Choose one to see what it does."}
          </span>
          {err("kind")}
        </div>

        {kind && (
          <>
            <KindArgs
              key={kind.name}
              kind={kind}
              schemas={schemas.data}
              value={args}
              onChange={setArgs}
              errors={byField}
            />
            <fieldset>
              <legend>Options</legend>
              <div className="fields row">
                <div className="field">
                  <label htmlFor="priority">Priority</label>
                  <select
                    id="priority"
                    value={priority}
                    aria-describedby="priority-err"
                    aria-invalid={byField.priority ? true : undefined}
                    onChange={(e) => setPriority(e.target.value)}
                  >
                    <option value="">Default ({kind.priority})</option>
                    <option value="1">1 (highest)</option>
                    <option value="2">2</option>
                    <option value="3">3</option>
                    <option value="4">4 (lowest)</option>
                  </select>
                  {err("priority")}
                </div>
                <div className="field">
                  <label htmlFor="max_attempts">Max attempts</label>
                  <input
                    id="max_attempts"
                    type="number"
                    min={1}
                    max={100}
                    inputMode="numeric"
                    placeholder={String(kind.max_attempts)}
                    value={maxAttempts}
                    aria-describedby="max_attempts-err"
                    aria-invalid={byField.max_attempts ? true : undefined}
                    onChange={(e) => setMaxAttempts(e.target.value)}
                  />
                  {err("max_attempts")}
                </div>
                <div className="field">
                  <label htmlFor="run_at">Run at</label>
                  <input
                    id="run_at"
                    type="datetime-local"
                    value={runAt}
                    aria-describedby="run_at-help run_at-err"
                    aria-invalid={byField.run_at ? true : undefined}
                    onChange={(e) => setRunAt(e.target.value)}
                  />
                  <span id="run_at-help" className="help">
                    Empty: now. Your local time.
                  </span>
                  {err("run_at")}
                </div>
              </div>
            </fieldset>
            {preview.applies && (
              <BulkPreview
                kind={kind.name}
                args={args}
                preview={preview}
                confirmed={confirmed}
                onConfirm={(c) => setConfirmedFor(c && preview.token ? preview.token : "")}
              />
            )}
          </>
        )}

        {other.length > 0 && (
          <ul className="error-note" role="alert">
            {other.map((m) => (
              <li key={m}>{m}</li>
            ))}
          </ul>
        )}
        {create.isError && !limited && !other.length && !Object.keys(byField).length && (
          <ErrorNote error={create.error} prefix="Not started" />
        )}
        {create.isError && Object.keys(byField).length > 0 && (
          <p className="error-note" role="alert">
            Not started ({create.error.message}): see the marked fields.
          </p>
        )}
        <div className="actions">
          <button
            type="submit"
            className="primary"
            aria-describedby={refused ? "start-refused" : undefined}
            disabled={!kindName || !!refused || (preview.applies && !confirmed) || create.isPending}
          >
            {create.isPending ? "Starting…" : "Start"}
          </button>
          {refused && (
            <p id="start-refused" className="error-note">
              {refused}
            </p>
          )}
          <LimitNote error={create.error} />
        </div>
      </form>
    </section>
  );
}
