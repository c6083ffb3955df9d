import { QueryClient, type InfiniteData } from "@tanstack/react-query";
import type { Task, TaskEvent } from "../api/client";
import {
  changesMessages,
  learnText,
  decidedBy,
  messageKeys,
  MessageRefresher,
  moveCount,
  movedBy,
  parseShelf,
  patchMessage,
  place,
  ruleFor,
  senderOf,
  type Counts,
  type Message,
  type MessageFilters,
  type MessagePage,
  type SenderRule,
} from "./messages";

const at = "2026-01-01T00:00:00Z";

function message(id: string, p: Partial<Message> = {}): Message {
  return {
    id,
    account_id: 1,
    gmail_id: id.split(".")[1] ?? id,
    thread_id: "t",
    from: "Ann <ann@example.com>",
    to: "me@example.com",
    subject: `subject ${id}`,
    snippet: "",
    date: at,
    labels: [],
    unread: false,
    category: "spam",
    source: "model",
    confidence: 0.9,
    ...p,
  };
}

function counts(p: Partial<Record<string, [number, number]>>): Counts {
  const names = ["primary", "social", "promotions", "updates", "forums", "newsletters", "spam", "unclassified"] as const;
  const categories = names.map((category) => ({ category, messages: p[category]?.[0] ?? 0, unread: p[category]?.[1] ?? 0 }));
  return { categories, total: categories.reduce((n, c) => n + c.messages, 0) };
}

const pick = (c: Counts | undefined, name: string) => c?.categories.find((x) => x.category === name);

describe("decidedBy", () => {
  it("names what decided, as the badge says it", () => {
    const label = (source: Message["source"], rule?: string) => decidedBy({ source, rule })?.label;
    expect(label("person")).toBe("You");
    expect(label("llm")).toBe("LLM");
    expect(label("model")).toBe("Spam model");
    expect(label("model", "user-model")).toBe("Your model");
    expect(label("rule", "gmail-label:CATEGORY_SOCIAL")).toBe("Gmail label");
    expect(label("rule", "sender-rule:news@example.com")).toBe("Your rule");
    expect(label("rule", "sender-reputation:x.test")).toBe("Sender reputation");
    expect(label("rule", "bulk-sender")).toBe("Mail headers");
    expect(label(undefined)).toBeUndefined();
  });

  it("says which label or sender in its help", () => {
    expect(decidedBy({ source: "rule", rule: "gmail-label:SPAM" })?.help).toBe("Gmail labelled it SPAM");
    expect(decidedBy({ source: "rule", rule: "sender-rule:a@b.example" })?.help).toBe("Your rule for a@b.example");
  });
});

describe("senderOf", () => {
  it("splits a From header into a name and a lowercase address", () => {
    expect(senderOf('"Doe, Jane" <Jane@Example.com>')).toEqual({ name: "Doe, Jane", address: "jane@example.com" });
    expect(senderOf("Ann <ann@example.com>")).toEqual({ name: "Ann", address: "ann@example.com" });
    expect(senderOf("<bob@example.com>")).toEqual({ name: "bob@example.com", address: "bob@example.com" });
    expect(senderOf("bob@example.com")).toEqual({ name: "bob@example.com", address: "bob@example.com" });
  });
});

describe("ruleFor", () => {
  const rule = (id: number, sender: string): SenderRule => ({ id, sender, category: "spam", created_at: at });
  it("finds the address's rule, else its domain's or a parent domain's", () => {
    const rules = [rule(1, "example.com"), rule(2, "ann@mail.example.com")];
    expect(ruleFor(rules, "ann@mail.example.com")?.id).toBe(2);
    expect(ruleFor(rules, "bob@mail.example.com")?.id).toBe(1);
    expect(ruleFor(rules, "bob@example.org")).toBeUndefined();
    expect(ruleFor(undefined, "bob@example.com")).toBeUndefined();
  });
});

describe("parseShelf", () => {
  it("accepts the shelves only", () => {
    expect(parseShelf("spam")).toBe("spam");
    expect(parseShelf("unclassified")).toBe("unclassified");
    expect(parseShelf("toString")).toBeUndefined();
    expect(parseShelf(null)).toBeUndefined();
  });
});

describe("moveCount", () => {
  it("moves one message, and its unread mark, between shelves", () => {
    const c = moveCount(counts({ spam: [3, 2], primary: [5, 1] }), "spam", "primary", true);
    expect(pick(c, "spam")).toMatchObject({ messages: 2, unread: 1 });
    expect(pick(c, "primary")).toMatchObject({ messages: 6, unread: 2 });
    expect(c.total).toBe(8);
  });

  it("leaves the unread counts alone for a read message, and never goes below zero", () => {
    const c = moveCount(counts({ unclassified: [0, 0] }), "unclassified", "social", false);
    expect(pick(c, "unclassified")).toMatchObject({ messages: 0, unread: 0 });
    expect(pick(c, "social")).toMatchObject({ messages: 1, unread: 0 });
  });
});

describe("patchMessage", () => {
  it("replaces the message in its page and keeps the rest as they were", () => {
    const p1: MessagePage = { messages: [message("1.a")], next_cursor: "x" };
    const p2: MessagePage = { messages: [message("1.b"), message("1.c")] };
    const data: InfiniteData<MessagePage, string> = { pages: [p1, p2], pageParams: ["", "x"] };
    const next = patchMessage(data, "1.c", (m) => ({ ...m, category: "primary" }));
    expect(next?.pages[0]).toBe(p1);
    expect(next?.pages[1]?.messages[1]?.category).toBe("primary");
    expect(patchMessage(data, "9.z", (m) => m)).toBe(data);
  });
});

describe("place (optimistic correction) and its undo", () => {
  const spam: MessageFilters = { account: 0, shelf: "spam", q: "" };

  function seeded() {
    const qc = new QueryClient();
    const m = message("1.a", { unread: true });
    qc.setQueryData(messageKeys.list(spam), { pages: [{ messages: [m, message("1.b")] }], pageParams: [""] });
    qc.setQueryData(messageKeys.counts(0), counts({ spam: [2, 1], primary: [4, 0] }));
    qc.setQueryData(messageKeys.counts(1), counts({ spam: [2, 1], primary: [4, 0] }));
    qc.setQueryData(messageKeys.counts(2), counts({ spam: [7, 0] }));
    return { qc, m };
  }
  const listed = (qc: QueryClient) =>
    qc.getQueryData<InfiniteData<MessagePage, string>>(messageKeys.list(spam))?.pages.flatMap((p) => p.messages);

  it("shows the new category and source at once, and counts it in the message's accounts only", () => {
    const { qc, m } = seeded();
    place(qc, m, { category: "primary", source: "person", rule: undefined, confidence: 1 });
    expect(listed(qc)?.[0]).toMatchObject({ id: "1.a", category: "primary", source: "person" });
    for (const acct of [0, 1]) {
      const c = qc.getQueryData<Counts>(messageKeys.counts(acct));
      expect(pick(c, "spam")).toMatchObject({ messages: 1, unread: 0 });
      expect(pick(c, "primary")).toMatchObject({ messages: 5, unread: 1 });
    }
    expect(pick(qc.getQueryData<Counts>(messageKeys.counts(2)), "spam")?.messages).toBe(7);
  });

  it("undo puts it back without undoing another message's change made meanwhile", () => {
    const { qc, m } = seeded();
    const undo = place(qc, m, { category: "primary", source: "person", rule: undefined, confidence: 1 });
    place(qc, message("1.b"), { category: "social", source: "person", rule: undefined, confidence: 1 });
    undo();
    expect(listed(qc)?.map((x) => [x.id, x.category, x.source])).toEqual([
      ["1.a", "spam", "model"],
      ["1.b", "social", "person"],
    ]);
    const c = qc.getQueryData<Counts>(messageKeys.counts(0));
    expect(pick(c, "spam")).toMatchObject({ messages: 1, unread: 1 });
    expect(pick(c, "primary")).toMatchObject({ messages: 4, unread: 0 });
    expect(pick(c, "social")).toMatchObject({ messages: 1 });
  });
});

describe("live refresh", () => {
  const ev = (kind: string, change: TaskEvent["change"]): TaskEvent => ({
    id: 1,
    kind,
    queue: "q",
    state: change === "completed" ? "completed" : "running",
    change,
    attempt: 1,
    max_attempts: 3,
    priority: 2,
    at,
  });

  it("follows tasks that change the stored mail, when they complete", () => {
    expect(changesMessages(ev("classify_email_batch", "completed"))).toBe(true);
    expect(changesMessages(ev("reclassify_with_feedback", "completed"))).toBe(true);
    expect(changesMessages(ev("sync_user_emails", "completed"))).toBe(true);
    expect(changesMessages(ev("reclassify_with_feedback", "started"))).toBe(false);
    expect(changesMessages(ev("export_user_data", "completed"))).toBe(false);
  });

  it("refetches the message queries once per burst", async () => {
    const qc = new QueryClient();
    const spy = vi.spyOn(qc, "invalidateQueries");
    const r = new MessageRefresher(qc, 10);
    r.schedule();
    r.schedule();
    await vi.waitFor(() => expect(spy).toHaveBeenCalledTimes(1));
    expect(spy).toHaveBeenCalledWith({ queryKey: messageKeys.all });
    r.dispose();
  });

  it("reads how many messages a learning task moved", () => {
    const task = (result: unknown) => ({ id: 1, result }) as unknown as Task;
    expect(movedBy(task({ corrections: 1, model_version: 1, rules: 0, scanned: 90, moved: 12 }))).toBe(12);
    expect(movedBy(task({ messages: 3 }))).toBeUndefined();
    expect(movedBy(task(undefined))).toBeUndefined();
    expect(movedBy(undefined)).toBeUndefined();
  });
});

describe("learnText", () => {
  it("says what learning moved: other messages after a correction, any after a removal", () => {
    expect(learnText("correction", "scheduled", undefined)).toMatch(/^Your model is learning from your correction/);
    expect(learnText("correction", "completed", 12)).toBe("Learned from your correction: 12 other messages moved.");
    expect(learnText("correction", "completed", 1)).toBe("Learned from your correction: 1 other message moved.");
    expect(learnText("correction", "completed", 0)).toBe("Learned from your correction: no other message moved.");
    expect(learnText("removal", "completed", 1)).toBe("Relearned without that correction: 1 message moved.");
    expect(learnText("correction", "failed", undefined)).toMatch(/^Learning stopped \(failed\)/);
  });
});
