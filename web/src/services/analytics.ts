// Analytics: the caller's mail per day and category, top senders, bulk
// removals and last syncs; for admins, tasks, failures and quota per day.
// Series come from rollups that update_analytics keeps (hourly).
import { queryOptions } from "@tanstack/react-query";
import { api, call, type Schemas } from "../api/client";

export type Analytics = Schemas["Analytics"];
export type SystemAnalytics = Schemas["SystemAnalytics"];
export type MailDay = Schemas["MailDay"];
export type TaskDay = Schemas["TaskDay"];
export type Series = keyof Schemas["CategoryCounts"];

/** SERIES in the stacking order, bottom first, with their names for people. */
export const SERIES: readonly { key: Series; name: string }[] = [
  { key: "primary", name: "Primary" },
  { key: "social", name: "Social" },
  { key: "promotions", name: "Promotions" },
  { key: "updates", name: "Updates" },
  { key: "forums", name: "Forums" },
  { key: "newsletters", name: "Newsletters" },
  { key: "spam", name: "Spam" },
  { key: "unclassified", name: "Not classified yet" },
];

/** RANGES a person may pick, in days. */
export const RANGES = [7, 30, 90, 365] as const;
export type Range = (typeof RANGES)[number];

/** parseRange reads a range from the URL; anything else is 30 days. */
export function parseRange(s: string | null): Range {
  const n = Number(s);
  return (RANGES as readonly number[]).includes(n) ? (n as Range) : 30;
}

/** dateRange is the last `days` UTC dates ending with today's. */
export function dateRange(days: number, now: number): { from: string; to: string } {
  const to = new Date(now);
  const from = new Date(now - (days - 1) * 86_400_000);
  return { from: from.toISOString().slice(0, 10), to: to.toISOString().slice(0, 10) };
}

export const analyticsQuery = (from: string, to: string) =>
  queryOptions({
    queryKey: ["analytics", from, to],
    queryFn: ({ signal }) => call(api.GET("/api/v1/analytics", { params: { query: { from, to } }, signal })),
  });

export const systemAnalyticsQuery = (from: string, to: string) =>
  queryOptions({
    queryKey: ["analytics", "system", from, to],
    queryFn: ({ signal }) => call(api.GET("/api/v1/analytics/system", { params: { query: { from, to } }, signal })),
  });

/**
 * stacked turns days into uPlot data for a stacked area chart: x in
 * seconds (UTC midnight), then one cumulative series per category in
 * SERIES order, so each line is the top of its band.
 */
export function stacked(days: MailDay[]): number[][] {
  const xs = days.map((d) => Date.parse(`${d.day}T00:00:00Z`) / 1000);
  const out: number[][] = [xs];
  const running = days.map(() => 0);
  for (const s of SERIES) {
    days.forEach((d, i) => (running[i] = (running[i] ?? 0) + d.categories[s.key]));
    out.push([...running]);
  }
  return out;
}

/** totals sums each category over the days. */
export function totals(days: MailDay[]): Record<Series, number> {
  const t = Object.fromEntries(SERIES.map((s) => [s.key, 0])) as Record<Series, number>;
  for (const d of days) for (const s of SERIES) t[s.key] += d.categories[s.key];
  return t;
}

/** percent renders a 0..1 share as "87 %" (one decimal under 10 %). */
export function percent(share: number): string {
  const p = share * 100;
  return `${p > 0 && p < 10 ? p.toFixed(1) : Math.round(p)} %`;
}

/** byKind sums the task days per kind, busiest first, with their rates. */
export function byKind(tasks: TaskDay[]): {
  kind: string;
  completed: number;
  failed: number;
  cancelled: number;
  failureRate: number;
  runP95: number;
  waitP95: number;
  quota: number;
}[] {
  const m = new Map<string, { completed: number; failed: number; cancelled: number; runP95: number; waitP95: number; quota: number }>();
  for (const t of tasks) {
    const k = m.get(t.kind) ?? { completed: 0, failed: 0, cancelled: 0, runP95: 0, waitP95: 0, quota: 0 };
    k.completed += t.completed;
    k.failed += t.failed;
    k.cancelled += t.cancelled;
    // A day's p95 is not additive: the worst day's is shown.
    k.runP95 = Math.max(k.runP95, t.run_p95_ms);
    k.waitP95 = Math.max(k.waitP95, t.wait_p95_ms);
    k.quota += t.quota_units;
    m.set(t.kind, k);
  }
  return [...m.entries()]
    .map(([kind, k]) => ({ kind, ...k, failureRate: k.completed + k.failed ? k.failed / (k.completed + k.failed) : 0 }))
    .sort((a, b) => b.completed + b.failed + b.cancelled - (a.completed + a.failed + a.cancelled) || a.kind.localeCompare(b.kind));
}
