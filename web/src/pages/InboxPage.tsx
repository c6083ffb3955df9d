import { useInfiniteQuery, useMutation, useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { Fragment, useEffect, useState, type FormEvent } from "react";
import type { Schemas, TaskState } from "../api/client";
import { ErrorNote } from "../components/ErrorNote";
import { Link } from "../components/Link";
import { useDebounced } from "../hooks/useDebounced";
import { count, dateTime, plural, shortDate } from "../lib/format";
import { navigate, useLocation } from "../router";
import { accountsQuery } from "../services/accounts";
import {
  CATEGORIES,
  clearCorrections,
  correctMessage,
  countsQuery,
  decidedBy,
  deleteRule,
  messageKeys,
  messageListQuery,
  messageQuery,
  movedBy,
  parseShelf,
  place,
  placementOf,
  ruleFor,
  rulesQuery,
  senderOf,
  SHELF_NAMES,
  storeMessage,
  learnText,
  type Category,
  type LearnWhy,
  type Message,
  type MessageDetail,
  type MessageFilters,
  type Placement,
  type SenderRule,
  type Shelf,
} from "../services/messages";
import { createTask, isFinished, storeTask, taskQuery } from "../services/tasks";

type Account = Schemas["Account"];

/** inboxHref is the Inbox at a shelf and account, as a URL. */
function inboxHref(shelf: Shelf, account: number): string {
  const p = new URLSearchParams();
  if (shelf !== "primary") p.set("category", shelf);
  if (account) p.set("account", String(account));
  const qs = p.toString();
  return qs ? `/inbox?${qs}` : "/inbox";
}

// Queries that hold data: cancelled before an optimistic change so a
// response read before it cannot overwrite it. (A first load cancelled
// would be left without data and not fetched again.)
function cancelLoaded(qc: QueryClient) {
  return qc.cancelQueries({ queryKey: messageKeys.all, predicate: (q) => q.state.data !== undefined });
}

/** The last correction, shown above the list with what may follow it (a rule, undo). */
type Correction = { message: Message; before: Placement; to: Category; rule?: SenderRule };

export function InboxPage() {
  const qc = useQueryClient();
  const { search } = useLocation();
  const [now] = useState(() => Date.now());
  const accounts = useQuery(accountsQuery);
  const asked = Number(search.get("account") ?? 0);
  const account = accounts.data?.some((a) => a.id === asked) ? asked : 0;
  const shelf = parseShelf(search.get("category")) ?? "primary";
  const [text, setText] = useState("");
  const q = useDebounced(text.trim(), 300);
  const counts = useQuery({ ...countsQuery(account), enabled: !!accounts.data?.length });
  const rules = useQuery(rulesQuery);

  const [open, setOpen] = useState<string | null>(null);
  const [last, setLast] = useState<Correction | null>(null);
  const [note, setNote] = useState("");
  // The task learning from the last correction (or its removal), followed until it finishes.
  const [learning, setLearning] = useState<{ id: number; why: LearnWhy }>();
  const learnId = learning?.id;
  const learn = useQuery({
    ...taskQuery(learnId ?? 0),
    enabled: learnId !== undefined,
    // The event stream patches it; polling only covers a stream that is down.
    refetchInterval: (query) => (query.state.data && isFinished(query.state.data.state) ? false : 3000),
  });
  const learnState = learnId === undefined ? undefined : learn.data?.id === learnId ? learn.data.state : "pending";
  useEffect(() => {
    // What the learning moved shows once it has finished.
    if (learnState === "completed") void qc.invalidateQueries({ queryKey: messageKeys.all });
  }, [learnState, learnId, qc]);

  const correct = useMutation({
    mutationFn: ({ m, to, always }: { m: Message; to: Category; always?: "sender" }) => correctMessage(m.id, to, always),
    onMutate: async ({ m, to }) => {
      await cancelLoaded(qc);
      const undo = place(qc, m, { category: to, source: "person", rule: undefined, confidence: 1 });
      return { undo, before: placementOf(m) };
    },
    onError: (_err, _vars, ctx) => ctx?.undo(),
    onSuccess: (r, { m, to }, ctx) => {
      storeMessage(qc, r.message);
      void qc.invalidateQueries({ queryKey: messageKeys.detail(m.id) });
      void qc.invalidateQueries({ queryKey: messageKeys.allCounts() });
      if (r.rule) void qc.invalidateQueries({ queryKey: messageKeys.rules() });
      setLearning({ id: r.task_id, why: "correction" });
      setNote("");
      setLast((prev) => ({
        message: r.message,
        // "Always for this sender" after a correction keeps what Undo returns to.
        before: prev?.message.id === m.id ? prev.before : ctx.before,
        to,
        rule: r.rule,
      }));
    },
  });

  const clear = useMutation({
    // back: where the message goes back to (the classifier's category), when known, to show at once.
    mutationFn: ({ m }: { m: Message; back?: Placement }) => clearCorrections([m.id]),
    onMutate: async ({ m, back }) => {
      if (!back) return { undo: () => {} };
      await cancelLoaded(qc);
      return { undo: place(qc, m, back) };
    },
    onError: (_err, _vars, ctx) => ctx?.undo(),
    onSuccess: async (r, { m }) => {
      setLearning({ id: r.task_id, why: "removal" });
      setLast((prev) => (prev?.message.id === m.id ? null : prev));
      void qc.invalidateQueries({ queryKey: messageKeys.allCounts() });
      const subject = m.subject || "(no subject)";
      try {
        // What decided its category now, from the server.
        const fresh = await qc.fetchQuery({ ...messageQuery(m.id), staleTime: 0 });
        storeMessage(qc, fresh);
        setNote(`Removed your correction: “${subject}” is in ${SHELF_NAMES[fresh.category ?? "unclassified"]} again.`);
      } catch {
        void qc.invalidateQueries({ queryKey: messageKeys.lists() });
        setNote(`Removed your correction of “${subject}”.`);
      }
    },
  });

  const onCorrect = (m: Message, to: Category, always?: "sender") => {
    clear.reset();
    correct.mutate({ m, to, always });
  };
  const undo = (c: Correction) => {
    correct.reset();
    setLast(null);
    if (c.before.source === "person" && c.before.category) correct.mutate({ m: c.message, to: c.before.category });
    else clear.mutate({ m: c.message, back: c.before });
  };

  const setAccount = (id: number) => navigate(inboxHref(shelf, id), { replace: true });

  const unread = counts.data?.categories.reduce((n, c) => n + c.unread, 0) ?? 0;
  const head = (
    <div className="page-head">
      <h1 id="inbox-title" tabIndex={-1}>
        Inbox
      </h1>
      {counts.data && counts.data.total > 0 && (
        <p className="muted inbox-total">
          {plural(counts.data.total, "message")}
          {unread > 0 && `, ${count(unread)} unread`}
        </p>
      )}
    </div>
  );

  if (accounts.isPending || (accounts.data?.length && counts.isPending)) {
    return (
      <section aria-labelledby="inbox-title">
        {head}
        <p className="muted">Loading your mail…</p>
      </section>
    );
  }
  if (accounts.isError || counts.isError) {
    return (
      <section aria-labelledby="inbox-title">
        {head}
        <ErrorNote error={accounts.error ?? counts.error} prefix="Cannot load your mail" />
      </section>
    );
  }
  if (!accounts.data.length) {
    return (
      <section aria-labelledby="inbox-title">
        {head}
        <div className="empty">
          <p>No Gmail account connected yet.</p>
          <p>
            <Link to="/accounts">Connect one in Accounts</Link>: its first sync stores your mail and sorts it into
            categories.
          </p>
        </div>
      </section>
    );
  }
  if (!counts.data || counts.data.total === 0) {
    return (
      <section aria-labelledby="inbox-title">
        {head}
        <NothingSynced accounts={accounts.data} />
      </section>
    );
  }

  const filters: MessageFilters = { account, shelf, q };
  const shelves = counts.data.categories.filter(
    (c) => c.category !== "unclassified" || c.messages > 0 || shelf === "unclassified",
  );
  const name = SHELF_NAMES[shelf];
  const mutationError = correct.error ?? clear.error;

  return (
    <section aria-labelledby="inbox-title">
      {head}
      <div className="inbox">
        <nav className="cats" aria-label="Categories">
          <ul>
            {shelves.map((c) => (
              <li key={c.category}>
                <Link
                  to={inboxHref(c.category, account)}
                  aria-current={c.category === shelf ? "true" : undefined}
                  data-shelf={c.category}
                  data-count={c.messages}
                  onClick={() => setOpen(null)}
                >
                  <span className="cat-name">{SHELF_NAMES[c.category]}</span>
                  {c.unread > 0 && (
                    <span className="cat-unread" aria-hidden="true">
                      {count(c.unread)}
                    </span>
                  )}
                  <span className="cat-count" aria-hidden="true">
                    {count(c.messages)}
                  </span>
                  <span className="sr-only">
                    {`, ${c.unread > 0 ? `${count(c.unread)} unread, ` : ""}${plural(c.messages, "message")}`}
                  </span>
                </Link>
              </li>
            ))}
          </ul>
        </nav>

        <RulesPanel rules={rules.data} error={rules.error} />

        <div className="inbox-main">
          <form className="filters" role="search" onSubmit={(e: FormEvent) => e.preventDefault()}>
            {accounts.data.length > 1 && (
              <div className="field">
                <label htmlFor="i-account">Account</label>
                <select id="i-account" value={account} onChange={(e) => setAccount(Number(e.target.value))}>
                  <option value={0}>All accounts</option>
                  {accounts.data.map((a) => (
                    <option key={a.id} value={a.id}>
                      {a.email}
                    </option>
                  ))}
                </select>
              </div>
            )}
            <div className="field grow">
              <label htmlFor="i-q">Search in {name}</label>
              <input
                id="i-q"
                type="search"
                placeholder="Words in the subject, sender or snippet"
                value={text}
                onChange={(e) => setText(e.target.value)}
              />
            </div>
          </form>

          <div className="inbox-notes">
            {last && (
              <CorrectionBar
                c={last}
                rules={rules.data}
                busy={correct.isPending || clear.isPending}
                onAlways={() => onCorrect(last.message, last.to, "sender")}
                onUndo={() => undo(last)}
                onDismiss={() => setLast(null)}
              />
            )}
            <p role="status" className="status-line">
              {note}
            </p>
            <LearnNote id={learnId} why={learning?.why} state={learnState} moved={movedBy(learn.data)} />
            <ErrorNote error={mutationError} prefix={correct.error ? "Not moved" : "Your correction is still there"} />
          </div>

          <MessageList
            key={`${shelf}-${account}`}
            filters={filters}
            now={now}
            open={open}
            rules={rules.data}
            onToggle={(id) => setOpen((cur) => (cur === id ? null : id))}
            onCorrect={onCorrect}
            onClear={(m, back) => {
              correct.reset();
              clear.mutate({ m, back });
            }}
            busy={correct.isPending || clear.isPending}
            onClearSearch={() => setText("")}
          />
        </div>
      </div>
    </section>
  );
}

/** NothingSynced: accounts, but no stored mail yet; a sync stores it and classifies it. */
function NothingSynced({ accounts }: { accounts: Account[] }) {
  const qc = useQueryClient();
  const connected = accounts.filter((a) => a.status === "connected");
  const sync = useMutation({
    mutationFn: () => Promise.all(connected.map((a) => createTask({ kind: "sync_user_emails", args: { account_id: a.id } }))),
    onSuccess: (ts) => ts.forEach((t) => storeTask(qc, t)),
  });
  return (
    <div className="empty">
      <p>Nothing synced yet.</p>
      <p>
        The first sync stores your mail&rsquo;s headers and snippets (never the bodies), then sorts it into categories.
        This page fills in when it is done.
      </p>
      {sync.data ? (
        <p role="status">
          Syncing:{" "}
          {sync.data.map((t, i) => (
            <span key={t.id}>
              {i > 0 && ", "}
              <Link to={`/tasks/${t.id}`}>task #{t.id}</Link>
            </span>
          ))}
          .
        </p>
      ) : connected.length ? (
        <button type="button" className="primary" disabled={sync.isPending} onClick={() => sync.mutate()}>
          {sync.isPending ? "Starting…" : "Sync now"}
        </button>
      ) : (
        <p>
          <Link to="/accounts">Reconnect your account in Accounts</Link> to sync it.
        </p>
      )}
      <ErrorNote error={sync.error} prefix="The sync did not start" />
    </div>
  );
}

function CorrectionBar({
  c,
  rules,
  busy,
  onAlways,
  onUndo,
  onDismiss,
}: {
  c: Correction;
  rules: SenderRule[] | undefined;
  busy: boolean;
  onAlways: () => void;
  onUndo: () => void;
  onDismiss: () => void;
}) {
  const { address } = senderOf(c.message.from);
  const rule = c.rule ?? ruleFor(rules, address);
  const ruled = rule && rule.category === c.to;
  return (
    <div className="banner info correction">
      <p role="status">
        Moved &ldquo;{c.message.subject || "(no subject)"}&rdquo; to {SHELF_NAMES[c.to]}.
        {ruled && ` Mail from ${rule.sender} now always goes to ${SHELF_NAMES[rule.category]} (see Rules).`}
      </p>
      <div className="actions">
        {!ruled && address && (
          <button type="button" className="small" disabled={busy} onClick={onAlways} title={`Always put mail from ${address} in ${SHELF_NAMES[c.to]}`}>
            Always for this sender
          </button>
        )}
        <button type="button" className="small" disabled={busy} onClick={onUndo}>
          Undo
        </button>
        <button type="button" className="icon" aria-label="Dismiss" onClick={onDismiss}>
          ×
        </button>
      </div>
    </div>
  );
}

/** LearnNote follows the task that learns from corrections, then says what it moved. */
function LearnNote({
  id,
  why,
  state,
  moved,
}: {
  id: number | undefined;
  why: LearnWhy | undefined;
  state: TaskState | undefined;
  moved: number | undefined;
}) {
  if (id === undefined || !why || !state) return null;
  return (
    <p className={`learn-note ${state === "completed" ? "done" : ""}`} role="status">
      {learnText(why, state, moved)} <Link to={`/tasks/${id}`}>Task #{id}</Link>
    </p>
  );
}

type ListProps = {
  filters: MessageFilters;
  now: number;
  open: string | null;
  rules: SenderRule[] | undefined;
  busy: boolean;
  onToggle: (id: string) => void;
  onCorrect: (m: Message, to: Category, always?: "sender") => void;
  onClear: (m: Message, back?: Placement) => void;
  onClearSearch: () => void;
};

function MessageList({ filters, now, open, rules, busy, onToggle, onCorrect, onClear, onClearSearch }: ListProps) {
  const list = useInfiniteQuery({
    ...messageListQuery(filters),
    // While a search is typed, the last results stay until the new ones come.
    placeholderData: (prev) => prev,
  });
  const name = SHELF_NAMES[filters.shelf];
  const messages = list.data?.pages.flatMap((p) => p.messages) ?? [];
  return (
    <>
      <h2 id="list-title" className="list-title">
        {filters.q ? `${name}: “${filters.q}”` : name}
      </h2>
      {list.isPending ? (
        <p className="muted">Loading messages…</p>
      ) : list.isError ? (
        <ErrorNote error={list.error} prefix="Cannot list the messages" />
      ) : !messages.length ? (
        <div className="empty">
          {filters.q ? (
            <>
              <p>
                No messages in {name} match &ldquo;{filters.q}&rdquo;.
              </p>
              <button type="button" className="small" onClick={onClearSearch}>
                Clear the search
              </button>
            </>
          ) : filters.shelf === "unclassified" ? (
            <p>Everything is classified.</p>
          ) : (
            <p>Nothing in {name}.</p>
          )}
        </div>
      ) : (
        <>
          <ul
            className="messages"
            aria-labelledby="list-title"
            aria-busy={list.isPlaceholderData || undefined}
            data-shelf={filters.shelf}
          >
            {messages.map((m) => (
              <MessageRow
                key={m.id}
                m={m}
                now={now}
                open={open === m.id}
                rules={rules}
                busy={busy}
                onToggle={() => onToggle(m.id)}
                onCorrect={onCorrect}
                onClear={onClear}
              />
            ))}
          </ul>
          <div className="pager">
            {list.hasNextPage ? (
              <button type="button" onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage}>
                {list.isFetchingNextPage ? "Loading more…" : "Load more"}
              </button>
            ) : (
              <span className="muted">
                {messages.length > 1 ? `All ${count(messages.length)} shown.` : ""}
              </span>
            )}
          </div>
        </>
      )}
    </>
  );
}

type RowProps = {
  m: Message;
  now: number;
  open: boolean;
  rules: SenderRule[] | undefined;
  busy: boolean;
  onToggle: () => void;
  onCorrect: (m: Message, to: Category, always?: "sender") => void;
  onClear: (m: Message, back?: Placement) => void;
};

function MessageRow({ m, now, open, rules, busy, onToggle, onCorrect, onClear }: RowProps) {
  const sender = senderOf(m.from);
  const by = decidedBy(m);
  const subject = m.subject || "(no subject)";
  const detailId = `msg-${m.id}-detail`;
  return (
    <li className={`msg${m.unread ? " unread" : ""}${open ? " open" : ""}`} data-id={m.id}>
      <div className="msg-row">
        <div className="msg-text">
          <span className="msg-from" title={sender.address}>
            {m.unread && (
              <span className="msg-dot" title="Unread">
                <span className="sr-only">Unread: </span>
              </span>
            )}
            {sender.name}
          </span>
          <button type="button" className="msg-open" aria-expanded={open} aria-controls={detailId} onClick={onToggle}>
            {subject}
          </button>
          <span className="msg-snippet">{m.snippet}</span>
        </div>
        <div className="msg-side">
          <time dateTime={m.date} title={dateTime(m.date)}>
            {shortDate(m.date, now)}
          </time>
          {by && (
            <span className={`badge by-${by.tone}`} title={by.help}>
              {by.label}
            </span>
          )}
          <label className="sr-only" htmlFor={`msg-${m.id}-cat`}>
            Category of &ldquo;{subject}&rdquo;
          </label>
          <select id={`msg-${m.id}-cat`} value={m.category ?? ""} onChange={(e) => onCorrect(m, e.target.value as Category)}>
            {!m.category && (
              <option value="" disabled>
                Not classified yet
              </option>
            )}
            {CATEGORIES.map((c) => (
              <option key={c} value={c}>
                {SHELF_NAMES[c]}
              </option>
            ))}
          </select>
        </div>
      </div>
      {open && <MessageDetailPanel id={detailId} m={m} rules={rules} busy={busy} onCorrect={onCorrect} onClear={onClear} />}
    </li>
  );
}

/** machinePlacement is where a corrected message goes back to, as far as its detail says. */
function machinePlacement(d: MessageDetail): Placement | undefined {
  const machine = parseShelf(d.machine_category ?? null);
  if (!machine || machine === "unclassified") return undefined;
  // What decided comes with the server's answer.
  return { category: machine, source: undefined, rule: undefined, confidence: undefined };
}

function weight(w: number): string {
  const s = Math.abs(w).toFixed(1);
  return w >= 0 ? `+${s} toward spam` : `−${s} toward not spam`;
}

function MessageDetailPanel({
  id,
  m,
  rules,
  busy,
  onCorrect,
  onClear,
}: {
  id: string;
  m: Message;
  rules: SenderRule[] | undefined;
  busy: boolean;
  onCorrect: (m: Message, to: Category, always?: "sender") => void;
  onClear: (m: Message, back?: Placement) => void;
}) {
  const q = useQuery(messageQuery(m.id));
  const d = q.data;
  const sender = senderOf(m.from);
  const rule = ruleFor(rules, sender.address);
  const headers: [string, string | undefined][] = d
    ? [
        ["List-Unsubscribe", d.list_unsubscribe],
        ["List-Id", d.list_id],
        ["Precedence", d.precedence],
        ["Authentication-Results", d.authentication_results],
      ]
    : [];
  const shownHeaders = headers.filter(([, v]) => v);
  return (
    <div className="msg-detail" id={id} role="region" aria-label={`Why “${m.subject || "(no subject)"}” is here`}>
      {q.isPending ? (
        <p className="muted">Loading why…</p>
      ) : q.isError ? (
        <ErrorNote error={q.error} prefix="Cannot load the message" />
      ) : (
        d && (
          <>
            <p className="why">{d.why}</p>
            {d.features.length > 0 && (
              <>
                <h3>Words that weighed in the spam model</h3>
                <ul className="features">
                  {d.features.map((f) => (
                    <li key={`${f.field}:${f.token}`} className={f.weight >= 0 ? "spammy" : "hammy"}>
                      <code>{f.token}</code> <span className="muted small">in {f.field}</span>{" "}
                      <span className="weight">{weight(f.weight)}</span>
                    </li>
                  ))}
                </ul>
              </>
            )}
            <dl className="facts">
              <dt>From</dt>
              <dd className="wrap">{d.from}</dd>
              <dt>Received</dt>
              <dd>{dateTime(d.date)}</dd>
              {d.spam_probability !== undefined && (
                <>
                  <dt>Spam probability</dt>
                  <dd>{Math.round(d.spam_probability * 100)}%</dd>
                </>
              )}
              {d.source === "person" && d.machine_category && (
                <>
                  <dt>The classifier said</dt>
                  <dd>{SHELF_NAMES[parseShelf(d.machine_category) ?? "unclassified"]}</dd>
                </>
              )}
              <dt>Gmail labels</dt>
              <dd className="wrap">{d.labels.length ? d.labels.join(", ") : "none"}</dd>
              {shownHeaders.map(([k, v]) => (
                <Fragment key={k}>
                  <dt>{k}</dt>
                  <dd className="wrap">{v}</dd>
                </Fragment>
              ))}
              {d.model_version && (
                <>
                  <dt>Model</dt>
                  <dd>{d.model_version}</dd>
                </>
              )}
            </dl>
            {d.source === "person" && (
              <div className="actions">
                <button type="button" className="small" disabled={busy} onClick={() => onClear(m, machinePlacement(d))}>
                  Remove my correction
                </button>
                {d.category && !(rule && rule.category === d.category) && sender.address && (
                  <button type="button" className="small" disabled={busy} onClick={() => onCorrect(m, d.category as Category, "sender")}>
                    Always for this sender
                  </button>
                )}
              </div>
            )}
          </>
        )
      )}
    </div>
  );
}

function RulesPanel({ rules, error }: { rules: SenderRule[] | undefined; error: unknown }) {
  const qc = useQueryClient();
  const [done, setDone] = useState("");
  const del = useMutation({
    mutationFn: (r: SenderRule) => deleteRule(r.id),
    onSuccess: (_r, rule) => {
      setDone(`Deleted the rule for ${rule.sender}; your mail is sorted again in a few seconds.`);
      void qc.invalidateQueries({ queryKey: messageKeys.rules() });
    },
  });
  return (
    <section className="card rules" aria-labelledby="rules-title">
      <h2 id="rules-title">Rules</h2>
      {error ? (
        <ErrorNote error={error} prefix="Cannot list your rules" />
      ) : !rules ? (
        <p className="muted small">Loading rules…</p>
      ) : !rules.length ? (
        <p className="muted small">
          No sender rules yet. After you move a message, &ldquo;Always for this sender&rdquo; makes one.
        </p>
      ) : (
        <ul>
          {rules.map((r) => (
            <li key={r.id} data-sender={r.sender}>
              <span className="rule-sender">{r.sender}</span>
              <span className="rule-to">
                <span aria-hidden="true">→ </span>
                <span className="sr-only">always goes to </span>
                {SHELF_NAMES[r.category]}
              </span>
              <button
                type="button"
                className="small"
                disabled={del.isPending}
                aria-label={`Delete the rule for ${r.sender}`}
                onClick={() => del.mutate(r)}
              >
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
      <p role="status" className="status-line small">
        {done}
      </p>
      <ErrorNote error={del.error} prefix="Not deleted" />
    </section>
  );
}
