import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { isLimited, type Schedule } from "../api/client";
import type { Args } from "../components/ArgsForm";
import { ErrorNote } from "../components/ErrorNote";
import { KindArgs } from "../components/KindArgs";
import { LimitNote } from "../components/LimitNote";
import { Link } from "../components/Link";
import { useNow } from "../hooks/useNow";
import { ago, dateTime } from "../lib/format";
import { fieldErrors } from "../lib/fieldErrors";
import { kindsQuery, schemasQuery, useKindTitle } from "../services/kinds";
import { isAdminQuery } from "../services/queues";
import {
  createSchedule,
  deleteSchedule,
  schedulesQuery,
  updateSchedule,
  type NewSchedule,
} from "../services/schedules";

const FIELDS = new Set(["name", "cron", "timezone", "kind", "priority", "enabled", "args"]);
const LOCAL_TZ = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

function ScheduleForm({ editing, onDone }: { editing: Schedule | null; onDone: () => void }) {
  const qc = useQueryClient();
  const kinds = useQuery(kindsQuery);
  const schemas = useQuery(schemasQuery);
  const admin = useQuery(isAdminQuery);
  const [name, setName] = useState(editing?.name ?? "");
  const [kindName, setKindName] = useState(editing?.kind ?? "");
  const [cron, setCron] = useState(editing?.cron ?? "");
  const [timezone, setTimezone] = useState(editing?.timezone ?? LOCAL_TZ);
  const [priority, setPriority] = useState(String(editing?.priority ?? 2));
  const [enabled, setEnabled] = useState(editing?.enabled ?? true);
  const [args, setArgs] = useState<Args>(() =>
    editing?.args && typeof editing.args === "object" ? (editing.args as Args) : {},
  );
  const kind = kinds.data?.find((k) => k.name === kindName);

  const save = useMutation({
    mutationFn: (s: NewSchedule) =>
      editing
        ? updateSchedule(editing.id, {
            name: s.name,
            cron: s.cron,
            timezone: s.timezone,
            priority: s.priority,
            enabled: s.enabled,
            args: s.args,
          })
        : createSchedule(s),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: schedulesQuery.queryKey });
      onDone();
    },
  });
  // A refusal for a per-user limit (429) goes beside the button, where the click was.
  const limited = isLimited(save.error);
  const { byField, other } = fieldErrors(limited ? null : save.error, (f) => FIELDS.has(f) || f.startsWith("args."));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate({ name: name.trim(), cron: cron.trim(), timezone, kind: kindName, args, priority: Number(priority), enabled });
  };
  const described = (f: string, help = false) =>
    [help ? `s-${f}-help` : "", byField[f] ? `s-${f}-err` : ""].filter(Boolean).join(" ") || undefined;
  const err = (f: string) =>
    byField[f] ? (
      <span id={`s-${f}-err`} className="field-error">
        {byField[f]}
      </span>
    ) : null;

  return (
    <form className="card form" onSubmit={submit} noValidate aria-labelledby="schedule-form-title">
      <h2 id="schedule-form-title">{editing ? `Edit “${editing.name}”` : "New schedule"}</h2>
      <div className="fields row">
        <div className="field">
          <label htmlFor="s-name">Name</label>
          <input
            id="s-name"
            value={name}
            required
            maxLength={100}
            aria-invalid={byField.name ? true : undefined}
            aria-describedby={described("name")}
            onChange={(e) => setName(e.target.value)}
          />
          {err("name")}
        </div>
        <div className="field">
          <label htmlFor="s-kind">Kind</label>
          <select
            id="s-kind"
            value={kindName}
            required
            disabled={!!editing}
            aria-invalid={byField.kind ? true : undefined}
            aria-describedby={described("kind")}
            onChange={(e) => {
              setKindName(e.target.value);
              setArgs({});
            }}
          >
            <option value="">Choose a kind…</option>
            {(kinds.data ?? []).map((k) => (
              <option key={k.name} value={k.name} disabled={k.admin_only && admin.data === false}>
                {k.title}
              </option>
            ))}
          </select>
          {err("kind")}
        </div>
      </div>
      <div className="fields row">
        <div className="field">
          <label htmlFor="s-cron">Cron</label>
          <input
            id="s-cron"
            value={cron}
            required
            spellCheck={false}
            placeholder="0 3 * * *"
            aria-invalid={byField.cron ? true : undefined}
            aria-describedby={described("cron", true)}
            onChange={(e) => setCron(e.target.value)}
          />
          <span id="s-cron-help" className="help">
            minute hour day month weekday, or @hourly, @every 10m
          </span>
          {err("cron")}
        </div>
        <div className="field">
          <label htmlFor="s-timezone">Time zone</label>
          <input
            id="s-timezone"
            value={timezone}
            spellCheck={false}
            placeholder="UTC"
            aria-invalid={byField.timezone ? true : undefined}
            aria-describedby={described("timezone")}
            onChange={(e) => setTimezone(e.target.value)}
          />
          {err("timezone")}
        </div>
        <div className="field">
          <label htmlFor="s-priority">Priority</label>
          <select id="s-priority" value={priority} onChange={(e) => setPriority(e.target.value)}>
            <option value="1">1 (highest)</option>
            <option value="2">2</option>
            <option value="3">3</option>
            <option value="4">4 (lowest)</option>
          </select>
          {err("priority")}
        </div>
        <div className="field check">
          <label htmlFor="s-enabled">Enabled</label>
          <input id="s-enabled" type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        </div>
      </div>
      {kind && (
        <KindArgs key={kind.name} kind={kind} schemas={schemas.data} value={args} onChange={setArgs} errors={byField} />
      )}
      {other.length > 0 && (
        <ul className="error-note" role="alert">
          {other.map((m) => (
            <li key={m}>{m}</li>
          ))}
        </ul>
      )}
      {save.isError && !limited && !other.length && !Object.keys(byField).length && (
        <ErrorNote error={save.error} prefix="Not saved" />
      )}
      {save.isError && Object.keys(byField).length > 0 && (
        <p className="error-note" role="alert">
          Not saved: see the marked fields.
        </p>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={save.isPending || !kindName}>
          {editing ? "Save changes" : "Create schedule"}
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
        <LimitNote error={save.error} />
      </div>
    </form>
  );
}

function ScheduleRow({ s, onEdit, now }: { s: Schedule; onEdit: () => void; now: number }) {
  const title = useKindTitle();
  const qc = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const refresh = () => qc.invalidateQueries({ queryKey: schedulesQuery.queryKey });
  // The switch shows what was asked at once, while the change is on its way.
  const [asked, setAsked] = useState<boolean | null>(null);
  const toggle = useMutation({
    mutationFn: (enabled: boolean) => updateSchedule(s.id, { enabled }),
    onSuccess: (updated) =>
      qc.setQueryData(schedulesQuery.queryKey, (list) => list?.map((x) => (x.id === updated.id ? updated : x))),
    onSettled: () => setAsked(null),
  });
  const enabled = asked ?? s.enabled;
  const remove = useMutation({ mutationFn: () => deleteSchedule(s.id), onSuccess: refresh });
  return (
    <tr data-schedule={s.name}>
      <td>
        <strong>{s.name}</strong>
        <span className="sub muted">{s.owner ? s.owner : "built-in"}</span>
      </td>
      <td data-label="Kind">{title(s.kind)}</td>
      <td data-label="When">
        <code>{s.cron}</code> <span className="muted small">{s.timezone}</span>
      </td>
      <td data-label="Next run">
        {enabled && s.next_run_at ? (
          <time dateTime={s.next_run_at} title={dateTime(s.next_run_at)}>
            {ago(s.next_run_at, now)}
          </time>
        ) : (
          <span className="muted">paused</span>
        )}
      </td>
      <td data-label="Last run">
        {s.last_task_id !== undefined ? (
          <Link to={`/tasks/${s.last_task_id}`}>{ago(s.last_run_at, now)}</Link>
        ) : (
          <span className="muted">never</span>
        )}
      </td>
      <td data-label="Enabled">
        <label className="switch">
          <input
            type="checkbox"
            role="switch"
            checked={enabled}
            disabled={toggle.isPending}
            onChange={(e) => {
              setAsked(e.target.checked);
              toggle.mutate(e.target.checked);
            }}
          />
          <span className="sr-only">Enabled: {s.name}</span>
          <span aria-hidden="true">{enabled ? "On" : "Off"}</span>
        </label>
      </td>
      <td className="row-actions">
        <button type="button" className="small" onClick={onEdit}>
          Edit<span className="sr-only"> {s.name}</span>
        </button>
        {confirming ? (
          <>
            <button type="button" className="small danger" onClick={() => remove.mutate()} disabled={remove.isPending}>
              Delete {s.name}?
            </button>
            <button type="button" className="small" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </>
        ) : (
          <button type="button" className="small" onClick={() => setConfirming(true)}>
            Delete<span className="sr-only"> {s.name}</span>
          </button>
        )}
        <ErrorNote error={toggle.error ?? remove.error} />
      </td>
    </tr>
  );
}

export function SchedulesPage() {
  const now = useNow();
  const schedules = useQuery(schedulesQuery);
  const [form, setForm] = useState<{ editing: Schedule | null } | null>(null);
  return (
    <section aria-labelledby="schedules-title">
      <div className="page-head">
        <h1 id="schedules-title" tabIndex={-1}>
          Schedules
        </h1>
        {!form && (
          <button type="button" className="primary" onClick={() => setForm({ editing: null })}>
            New schedule
          </button>
        )}
      </div>
      {form && <ScheduleForm key={form.editing?.id ?? "new"} editing={form.editing} onDone={() => setForm(null)} />}
      {schedules.isPending ? (
        <p className="muted">Loading schedules…</p>
      ) : schedules.isError ? (
        <ErrorNote error={schedules.error} prefix="Cannot list schedules" />
      ) : !schedules.data.length ? (
        <p className="empty">No schedules yet.</p>
      ) : (
        <table className="schedules">
          <caption className="sr-only">Recurring tasks</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Kind</th>
              <th scope="col">When</th>
              <th scope="col">Next run</th>
              <th scope="col">Last run</th>
              <th scope="col">Enabled</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {schedules.data.map((s) => (
              <ScheduleRow key={s.id} s={s} now={now} onEdit={() => setForm({ editing: s })} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
