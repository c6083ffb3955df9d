import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { ErrorNote } from "../components/ErrorNote";
import { count, dateTime } from "../lib/format";
import { navigate, useLocation } from "../router";
import { CATEGORIES, messageKeys, SHELF_NAMES, type Category } from "../services/messages";
import {
  addRule,
  band,
  BAND_NAMES,
  effect,
  FACTOR_NAMES,
  leansText,
  parseKind,
  parseSort,
  senderListQuery,
  senderQuery,
  share,
  SORT_NAMES,
  type Sender,
  type SenderKind,
  type SenderSort,
} from "../services/senders";
import { createTask } from "../services/tasks";

function sendersHref(kind: SenderKind, sort: SenderSort): string {
  const p = new URLSearchParams();
  if (kind !== "address") p.set("kind", kind);
  if (sort !== "score") p.set("sort", sort);
  const qs = p.toString();
  return qs ? `/senders?${qs}` : "/senders";
}

export function SendersPage() {
  const qc = useQueryClient();
  const { search } = useLocation();
  const kind = parseKind(search.get("kind"));
  const sort = parseSort(search.get("sort"));
  const list = useInfiniteQuery(senderListQuery(kind, sort));
  const [open, setOpen] = useState<number | null>(null);
  const update = useMutation({
    mutationFn: () => createTask({ kind: "update_sender_reputation", args: {} }),
    onSuccess: (t) => navigate(`/tasks/${t.id}`),
  });
  const senders = list.data?.pages.flatMap((p) => p.senders) ?? [];

  return (
    <section>
      <h1 tabIndex={-1}>Senders</h1>
      <p className="muted">
        Each sender's reputation with you, from 0 (unwanted, likely spam) to 100 (wanted, trusted): how much of its mail you
        open and keep, what you archived or deleted unread, your spam corrections, its authentication results and
        List-Unsubscribe. Classification leans on the lowest and highest scores.
      </p>
      <div className="fields row">
        <div className="field">
          <label htmlFor="senders-kind">Show</label>
          <select id="senders-kind" value={kind} onChange={(e) => navigate(sendersHref(parseKind(e.target.value), sort))}>
            <option value="address">Addresses</option>
            <option value="domain">Domains</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="senders-sort">Sort</label>
          <select id="senders-sort" value={sort} onChange={(e) => navigate(sendersHref(kind, parseSort(e.target.value)))}>
            {(Object.keys(SORT_NAMES) as SenderSort[]).map((s) => (
              <option key={s} value={s}>
                {SORT_NAMES[s]}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <button type="button" onClick={() => update.mutate()} disabled={update.isPending}>
            Update scores now
          </button>
        </div>
      </div>
      <ErrorNote error={update.error} prefix="Not started" />
      <ErrorNote error={list.error} />
      {list.isPending ? <p className="muted">Loading…</p> : null}
      {list.isSuccess && senders.length === 0 ? (
        <p className="muted">
          No scores yet: they are computed after your mail is synced and classified (or press Update scores now).
        </p>
      ) : null}
      {senders.length > 0 ? (
        <table className="senders">
          <caption className="sr-only">Senders by {SORT_NAMES[sort].toLowerCase()}</caption>
          <thead>
            <tr>
              <th scope="col">Sender</th>
              <th scope="col">Score</th>
              <th scope="col">Messages</th>
              <th scope="col">Opened</th>
              <th scope="col">Last mail</th>
            </tr>
          </thead>
          <tbody>
            {senders.map((s) => (
              <SenderRow key={s.id} s={s} open={open === s.id} toggle={() => setOpen(open === s.id ? null : s.id)} />
            ))}
          </tbody>
        </table>
      ) : null}
      {list.hasNextPage ? (
        <button type="button" onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage}>
          More senders
        </button>
      ) : null}
      {open !== null ? <SenderPanel id={open} onRule={() => void qc.invalidateQueries({ queryKey: messageKeys.all })} /> : null}
      {open !== null ? null : <p className="muted small">Choose a sender to see what made its score.</p>}
    </section>
  );
}

function SenderRow({ s, open, toggle }: { s: Sender; open: boolean; toggle: () => void }) {
  const b = band(s.score);
  return (
    <tr aria-selected={open} data-band={b}>
      <td>
        <button type="button" className="link" onClick={toggle} aria-expanded={open}>
          {s.sender}
        </button>
      </td>
      <td>
        <span className={`badge band-${b}`} title={BAND_NAMES[b]}>
          {s.score}
        </span>{" "}
        <span className="muted small">{BAND_NAMES[b]}</span>
      </td>
      <td>{count(s.messages)}</td>
      <td>{share(s.read, s.messages)}</td>
      <td>{dateTime(s.last_message_at)}</td>
    </tr>
  );
}

function SenderPanel({ id, onRule }: { id: number; onRule: () => void }) {
  const detail = useQuery(senderQuery(id));
  const [category, setCategory] = useState<Category>("spam");
  const rule = useMutation({
    mutationFn: (sender: string) => addRule(sender, category),
    onSuccess: onRule,
  });
  const d = detail.data;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (d) rule.mutate(d.sender);
  };
  return (
    <aside className="card" aria-labelledby="sender-title">
      <ErrorNote error={detail.error} />
      {d ? (
        <>
          <h2 id="sender-title">
            {d.sender}: {d.score} ({BAND_NAMES[band(d.score)]})
          </h2>
          <ul className="factors">
            {d.factors.map((f) => (
              <li key={f.name}>
                <strong>{FACTOR_NAMES[f.name]}</strong>: {f.says}{" "}
                <span className="muted small">
                  ({effect(f.points)}
                  {f.points ? `, ${f.points > 0 ? "+" : ""}${f.points.toFixed(2)}` : ""})
                </span>
              </li>
            ))}
          </ul>
          <p>{leansText(d.leans)}</p>
          <form className="fields row" onSubmit={submit}>
            <div className="field">
              <label htmlFor="sender-rule-category">Always put this sender in</label>
              <select
                id="sender-rule-category"
                value={category}
                onChange={(e) => setCategory(e.target.value as Category)}
              >
                {CATEGORIES.map((c) => (
                  <option key={c} value={c}>
                    {SHELF_NAMES[c]}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <button type="submit" className="primary" disabled={rule.isPending}>
                Make the rule
              </button>
            </div>
          </form>
          <ErrorNote error={rule.error} prefix="No rule made" />
          {rule.isSuccess ? (
            <p role="status">
              Mail from {rule.data.sender} now goes to {SHELF_NAMES[rule.data.category]}; your mail is being re-sorted.
            </p>
          ) : null}
        </>
      ) : (
        <p className="muted">Loading…</p>
      )}
    </aside>
  );
}
