// Senders: the reputation of each address and domain the caller gets mail
// from, with the factors that made it, and "always put this sender in …"
// through the sender rules.
import { infiniteQueryOptions, queryOptions } from "@tanstack/react-query";
import { api, call, type Schemas } from "../api/client";

export type Sender = Schemas["Sender"];
export type SenderDetail = Schemas["SenderDetail"];
export type SenderFactor = Schemas["SenderFactor"];
export type SenderSort = "score" | "score_desc" | "volume";
export type SenderKind = "address" | "domain";

export const SORT_NAMES: Record<SenderSort, string> = {
  score: "Lowest score first",
  score_desc: "Highest score first",
  volume: "Most mail first",
};

/** parseSort reads a sort from the URL; anything else is the default. */
export function parseSort(s: string | null): SenderSort {
  return s === "score_desc" || s === "volume" ? s : "score";
}

/** parseKind reads a kind from the URL; anything else is addresses. */
export function parseKind(s: string | null): SenderKind {
  return s === "domain" ? "domain" : "address";
}

export const SENDER_PAGE_SIZE = 50;

export const senderKeys = {
  all: ["senders"] as const,
  list: (kind: SenderKind, sort: SenderSort) => [...senderKeys.all, "list", kind, sort] as const,
  detail: (id: number) => [...senderKeys.all, "detail", id] as const,
};

export function senderListQuery(kind: SenderKind, sort: SenderSort) {
  return infiniteQueryOptions({
    queryKey: senderKeys.list(kind, sort),
    queryFn: ({ pageParam, signal }) =>
      call(
        api.GET("/api/v1/senders", {
          params: { query: { kind, sort, limit: SENDER_PAGE_SIZE, cursor: pageParam || undefined } },
          signal,
        }),
      ),
    initialPageParam: "",
    getNextPageParam: (last) => last.next_cursor || undefined,
  });
}

export function senderQuery(id: number) {
  return queryOptions({
    queryKey: senderKeys.detail(id),
    queryFn: ({ signal }) => call(api.GET("/api/v1/senders/{id}", { params: { path: { id } }, signal })),
  });
}

/** addRule makes the caller's rule: always put mail from sender in category. */
export function addRule(sender: string, category: Schemas["SenderRule"]["category"]) {
  return call(api.POST("/api/v1/classification/rules", { body: { sender, category } }));
}

/** Band is how a score reads: poor (classification leans to spam), mixed, good. */
export type Band = "poor" | "mixed" | "good";

/** band names a score's range; the bounds are internal/reputation's LowScore and HighScore. */
export function band(score: number): Band {
  if (score <= 20) return "poor";
  if (score >= 80) return "good";
  return "mixed";
}

export const BAND_NAMES: Record<Band, string> = { poor: "Poor", mixed: "Mixed", good: "Good" };

/** FACTOR_NAMES are the factors' names for people. */
export const FACTOR_NAMES: Record<SenderFactor["name"], string> = {
  volume: "Volume",
  opened: "Opened",
  kept: "Kept",
  discarded_unread: "Discarded unread",
  corrections: "Your corrections",
  authentication: "Authentication",
  list_unsubscribe: "List-Unsubscribe",
};

/** effect says in words which way a factor pushed the score. */
export function effect(points: number): string {
  if (Math.abs(points) < 0.05) return "no effect";
  const size = Math.abs(points) >= 1.5 ? "strongly" : Math.abs(points) >= 0.5 ? "" : "slightly";
  return [size, points > 0 ? "raises it" : "lowers it"].filter(Boolean).join(" ");
}

/** leansText says how classification uses a sender's score. */
export function leansText(l: SenderDetail["leans"]): string {
  switch (l) {
    case "spam":
      return "Classification leans on this: mail from it that the spam model is unsure of goes to Spam.";
    case "not_spam":
      return "Classification leans on this: mail from it that the spam model is unsure of stays out of Spam.";
    default:
      return "Classification does not lean on this score (it is in the middle, or there is too little mail).";
  }
}

/** share is "n of m (p%)". */
export function share(n: number, of: number): string {
  return of ? `${n} of ${of} (${Math.round((100 * n) / of)}%)` : "none";
}
