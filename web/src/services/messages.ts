// Messages: the caller's mail by category, why each got its category, and
// the corrections and sender rules that teach the classifier. Corrections
// show at once (optimistic) and are rolled back if the server refuses.
import { infiniteQueryOptions, queryOptions, type InfiniteData, type QueryClient } from "@tanstack/react-query";
import { api, call, type Schemas, type Task, type TaskEvent, type TaskState } from "../api/client";
import { plural } from "../lib/format";
import { isFinished } from "./tasks";

export type Message = Schemas["Message"];
export type MessageDetail = Schemas["MessageDetail"];
export type MessagePage = Schemas["MessageList"];
export type Counts = Schemas["Counts"];
export type SenderRule = Schemas["SenderRule"];
/** Category is where a message may be put. */
export type Category = Schemas["SenderRule"]["category"];
/** Shelf is what the Inbox lists: a category, or the mail not classified yet. */
export type Shelf = Schemas["CategoryCount"]["category"];

/** CATEGORIES in the dashboard's order (the server counts them in this order too). */
export const CATEGORIES: readonly Category[] = [
  "primary",
  "social",
  "promotions",
  "updates",
  "forums",
  "newsletters",
  "spam",
];

/** SHELF_NAMES are the categories' names for people. */
export const SHELF_NAMES: Record<Shelf, string> = {
  primary: "Primary",
  social: "Social",
  promotions: "Promotions",
  updates: "Updates",
  forums: "Forums",
  newsletters: "Newsletters",
  spam: "Spam",
  unclassified: "Not classified yet",
};

/** parseShelf reads a shelf from the URL; anything else is undefined. */
export function parseShelf(s: string | null): Shelf | undefined {
  return s && Object.hasOwn(SHELF_NAMES, s) ? (s as Shelf) : undefined;
}

export const PAGE_SIZE = 50;

/** What a list shows: one account (0: all of them), one shelf, and words to find. */
export type MessageFilters = { account: number; shelf: Shelf; q: string };

export const messageKeys = {
  all: ["messages"] as const,
  lists: () => [...messageKeys.all, "list"] as const,
  list: (f: MessageFilters) => [...messageKeys.lists(), f] as const,
  allCounts: () => [...messageKeys.all, "counts"] as const,
  counts: (account: number) => [...messageKeys.allCounts(), account] as const,
  detail: (id: string) => [...messageKeys.all, "detail", id] as const,
  rules: () => [...messageKeys.all, "rules"] as const,
};

export function messageListQuery(f: MessageFilters) {
  return infiniteQueryOptions({
    queryKey: messageKeys.list(f),
    queryFn: ({ pageParam, signal }) =>
      call(
        api.GET("/api/v1/messages", {
          params: {
            query: {
              account_id: f.account || undefined,
              category: f.shelf,
              q: f.q || undefined,
              limit: PAGE_SIZE,
              cursor: pageParam || undefined,
            },
          },
          signal,
        }),
      ),
    initialPageParam: "",
    getNextPageParam: (last) => last.next_cursor || undefined,
  });
}

export function countsQuery(account: number) {
  return queryOptions({
    queryKey: messageKeys.counts(account),
    queryFn: ({ signal }) =>
      call(api.GET("/api/v1/messages/counts", { params: { query: { account_id: account || undefined } }, signal })),
  });
}

export function messageQuery(id: string) {
  return queryOptions({
    queryKey: messageKeys.detail(id),
    queryFn: ({ signal }) => call(api.GET("/api/v1/messages/{id}", { params: { path: { id } }, signal })),
  });
}

export const rulesQuery = queryOptions({
  queryKey: messageKeys.rules(),
  queryFn: ({ signal }) => call(api.GET("/api/v1/classification/rules", { signal })).then((b) => b.rules ?? []),
});

/** correctMessage puts a message in a category; always "sender" also makes a rule for its sender. */
export function correctMessage(id: string, category: Category, always?: "sender" | "domain") {
  return call(api.POST("/api/v1/messages/{id}/feedback", { params: { path: { id } }, body: { category, always } }));
}

/**
 * clearCorrections removes the caller's corrections of these messages. It
 * goes through the bulk operation, whose answer names the learning task
 * (the single DELETE answers 204).
 */
export function clearCorrections(ids: string[]) {
  return call(api.POST("/api/v1/messages/feedback", { body: { ids, category: "clear" } }));
}

export function deleteRule(id: number) {
  return call(api.DELETE("/api/v1/classification/rules/{id}", { params: { path: { id } } }));
}

/** senderOf splits a From header into the name to show and the address. */
export function senderOf(from: string): { name: string; address: string } {
  const m = /^\s*(.*?)\s*<([^<>]+)>\s*$/.exec(from);
  if (!m) {
    const address = from.trim();
    return { name: address, address: address.toLowerCase() };
  }
  const address = (m[2] ?? "").trim().toLowerCase();
  const name = (m[1] ?? "").replace(/^"(.*)"$/, "$1").replace(/\\(.)/g, "$1").trim();
  return { name: name || address, address };
}

/** ruleFor is the caller's rule that covers an address: its own, else its domain's or a parent domain's. */
export function ruleFor(rules: readonly SenderRule[] | undefined, address: string): SenderRule | undefined {
  if (!rules?.length || !address) return undefined;
  const a = address.toLowerCase();
  const own = rules.find((r) => r.sender.toLowerCase() === a);
  if (own) return own;
  let domain = a.split("@")[1] ?? "";
  while (domain) {
    const d = domain;
    const r = rules.find((x) => x.sender.toLowerCase() === d);
    if (r) return r;
    domain = domain.includes(".") ? domain.slice(domain.indexOf(".") + 1) : "";
  }
  return undefined;
}

const HEADER_RULES: Record<string, string> = {
  "social-sender": "It comes from a social network",
  "mailing-list": "It comes from a discussion list",
  "bulk-promotion": "Bulk mail whose subject reads like an offer",
  "bulk-sender": "Bulk mail (List-Unsubscribe, List-Id or Precedence: bulk)",
  "no-reply-sender": "Sent from an address that takes no replies",
  "newsletter-list": "Gmail filed it under Promotions or Updates; its List-Id says it is a newsletter",
};

/**
 * decidedBy names what decided a message's category, for its badge: a
 * short label and a longer help. Undefined before classification.
 */
export function decidedBy(m: Pick<Message, "source" | "rule">): { label: string; help: string; tone: string } | undefined {
  const [rule = "", arg = ""] = (m.rule ?? "").split(/:(.*)/s);
  switch (m.source) {
    case "person":
      return { label: "You", help: "You put it here", tone: "you" };
    case "llm":
      return { label: "LLM", help: "The spam model was unsure, so the LLM decided", tone: "llm" };
    case "model":
      return rule === "user-model"
        ? { label: "Your model", help: "Your own model, learned from your corrections", tone: "yours" }
        : { label: "Spam model", help: "inboxq's spam model", tone: "model" };
    case "rule":
      if (rule === "gmail-label") return { label: "Gmail label", help: `Gmail labelled it ${arg}`, tone: "gmail" };
      if (rule === "sender-rule") return { label: "Your rule", help: `Your rule for ${arg}`, tone: "yours" };
      if (rule === "sender-reputation")
        return { label: "Sender reputation", help: `The spam model was unsure; ${arg}'s reputation with you decided`, tone: "yours" };
      return { label: "Mail headers", help: HEADER_RULES[rule] ?? "A rule on the message's headers", tone: "rule" };
    default:
      return undefined;
  }
}

/** shelfOf is the shelf a message shows on. */
export function shelfOf(m: Pick<Message, "category">): Shelf {
  return m.category ?? "unclassified";
}

/** patchMessage replaces one message of a paged list; the same object when it is not there. */
export function patchMessage(
  data: InfiniteData<MessagePage, string> | undefined,
  id: string,
  fn: (m: Message) => Message,
): InfiniteData<MessagePage, string> | undefined {
  if (!data) return data;
  let changed = false;
  const pages = data.pages.map((p) => {
    const i = p.messages.findIndex((m) => m.id === id);
    if (i < 0) return p;
    changed = true;
    const messages = p.messages.slice();
    messages[i] = fn(p.messages[i] as Message);
    return { ...p, messages };
  });
  return changed ? { ...data, pages } : data;
}

/** moveCount moves one message from one shelf's count to another's; the total stays. */
export function moveCount(c: Counts, from: Shelf, to: Shelf, unread: boolean): Counts {
  if (from === to) return c;
  return {
    ...c,
    categories: c.categories.map((x) => {
      const d = x.category === from ? -1 : x.category === to ? 1 : 0;
      if (!d) return x;
      return { ...x, messages: Math.max(0, x.messages + d), unread: Math.max(0, x.unread + (unread ? d : 0)) };
    }),
  };
}

/** The fields of a message that say where it is and what put it there. */
export type Placement = Pick<Message, "category" | "source" | "rule" | "confidence">;

export function placementOf(m: Message): Placement {
  return { category: m.category, source: m.source, rule: m.rule, confidence: m.confidence };
}

/**
 * place shows a message with a new placement in every cached list, count
 * and detail at once, and returns the change that undoes it. The undo
 * moves it back rather than restoring snapshots, so a correction that
 * succeeded meanwhile is not undone with it.
 */
export function place(qc: QueryClient, m: Message, to: Placement): () => void {
  const from = placementOf(m);
  const move = (a: Placement, b: Placement) => {
    const apply = <T extends Message>(x: T): T => ({ ...x, ...b });
    qc.setQueriesData<InfiniteData<MessagePage, string>>({ queryKey: messageKeys.lists() }, (d) =>
      patchMessage(d, m.id, apply),
    );
    qc.setQueryData<MessageDetail>(messageKeys.detail(m.id), (d) => (d ? apply(d) : d));
    for (const q of qc.getQueryCache().findAll({ queryKey: messageKeys.allCounts() })) {
      const account = q.queryKey[2];
      if (account !== 0 && account !== m.account_id) continue;
      qc.setQueryData<Counts>(q.queryKey, (c) => (c ? moveCount(c, shelfOf(a), shelfOf(b), m.unread) : c));
    }
  };
  move(from, to);
  return () => move(to, from);
}

/** storeMessage puts the server's version of a message into the lists that hold it. */
export function storeMessage(qc: QueryClient, m: Message) {
  qc.setQueriesData<InfiniteData<MessagePage, string>>({ queryKey: messageKeys.lists() }, (d) =>
    patchMessage(d, m.id, (old) => ({ ...old, ...placementOf(m), unread: m.unread, labels: m.labels })),
  );
}

/** Task kinds whose completion changes what the Inbox shows. */
const MESSAGE_KINDS = new Set([
  "sync_user_emails",
  "incremental_sync",
  "sync_email_metadata",
  "classify_email_batch",
  "reclassify_with_feedback",
  "cleanup_old_emails",
  "bulk_archive_emails",
  "bulk_label_emails",
  "bulk_delete_emails",
]);

/** changesMessages: the event is a task finishing that changed the stored mail or its categories. */
export function changesMessages(ev: TaskEvent): boolean {
  return ev.change === "completed" && MESSAGE_KINDS.has(ev.kind);
}

/**
 * movedBy is how many messages a finished learning (or classifying) task
 * moved to another category, when its result says.
 */
export function movedBy(t: Task | undefined): number | undefined {
  const r: unknown = t?.result;
  if (typeof r !== "object" || r === null || !("moved" in r)) return undefined;
  return typeof r.moved === "number" ? r.moved : undefined;
}

/** Why the caller's model learns again: a correction, or a correction removed. */
export type LearnWhy = "correction" | "removal";

/**
 * learnText says how far learning has got. A correction's message keeps its
 * category, so what moved are other messages; a removed correction's
 * message may move too.
 */
export function learnText(why: LearnWhy, state: TaskState, moved: number | undefined): string {
  const after = why === "correction" ? "Learned from your correction" : "Relearned without that correction";
  if (state === "completed") {
    if (moved === undefined) return `${after}.`;
    const noun = why === "correction" ? "other message" : "message";
    return `${after}: ${moved ? `${plural(moved, noun)} moved` : `no ${noun} moved`}.`;
  }
  if (isFinished(state)) return `Learning stopped (${state}): your correction stays, the rest of your mail is unchanged.`;
  return why === "correction"
    ? "Your model is learning from your correction; similar messages may move in a few seconds…"
    : "Your model is relearning without that correction…";
}

/**
 * MessageRefresher refetches the message queries after tasks that change
 * them, at most once every `ms`: a sync's classification finishes in
 * batches, close together.
 */
export class MessageRefresher {
  private readonly qc: QueryClient;
  private readonly ms: number;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(qc: QueryClient, ms = 1000) {
    this.qc = qc;
    this.ms = ms;
  }

  schedule() {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.qc.invalidateQueries({ queryKey: messageKeys.all });
    }, this.ms);
  }

  dispose() {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
