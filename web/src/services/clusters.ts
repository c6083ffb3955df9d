// Clusters: groups of the caller's messages that belong together (a
// newsletter, a service's notifications, a campaign), biggest first, as
// cluster_user_emails last found them; each one is a bulk target.
import { queryOptions } from "@tanstack/react-query";
import { api, call, type Schemas } from "../api/client";
import type { NewTask } from "./tasks";

export type Cluster = Schemas["Cluster"];

export const CLUSTER_PAGE = 100;

export const clusterKeys = {
  all: ["clusters"] as const,
  list: (account: number) => [...clusterKeys.all, "list", account] as const,
};

/** clusterListQuery is the caller's biggest clusters (of one account; 0: all). */
export function clusterListQuery(account: number) {
  return queryOptions({
    queryKey: clusterKeys.list(account),
    queryFn: ({ signal }) =>
      call(
        api.GET("/api/v1/clusters", {
          params: { query: { account_id: account || undefined, limit: CLUSTER_PAGE } },
          signal,
        }),
      ).then((b) => ({ clusters: b.clusters ?? [], more: !!b.next_cursor })),
  });
}

/** unreadShare says how much of a cluster is unread, as a whole percentage. */
export function unreadShare(c: Pick<Cluster, "size" | "unread">): string {
  if (c.size <= 0) return "0% unread";
  const pct = Math.round((100 * c.unread) / c.size);
  // Never say 0% or 100% of what is not all or nothing.
  const shown = c.unread > 0 && pct === 0 ? 1 : c.unread < c.size && pct === 100 ? 99 : pct;
  return `${shown}% unread`;
}

/** dateSpan is a cluster's span of days, e.g. "Mar 2024 – Nov 2026" (one month: once). */
export function dateSpan(first: string, last: string): string {
  const f = new Date(first);
  const l = new Date(last);
  const fmt = (d: Date) => d.toLocaleDateString("en-GB", { month: "short", year: "numeric", timeZone: "UTC" });
  return fmt(f) === fmt(l) ? fmt(l) : `${fmt(f)} – ${fmt(l)}`;
}

/** archiveTask is the bulk task that archives a whole cluster. */
export function archiveTask(c: Pick<Cluster, "id" | "account_id">): NewTask {
  return { kind: "bulk_archive_emails", args: { account_id: c.account_id, target: { cluster_id: c.id } } };
}

/** clusterTask is the task that (re)computes an account's clusters. */
export function clusterTask(account: number): NewTask {
  return { kind: "cluster_user_emails", args: { account_id: account } };
}
