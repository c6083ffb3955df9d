// Alerts: the list, unread count and marking read.
import { queryOptions } from "@tanstack/react-query";
import { api, call } from "../api/client";

export const alertKeys = { all: ["alerts"] as const };

export const alertsQuery = queryOptions({
  queryKey: [...alertKeys.all, "list"],
  queryFn: ({ signal }) =>
    call(api.GET("/api/v1/alerts", { params: { query: { limit: 100 } }, signal })).then((b) => b.alerts ?? []),
});

export const unreadAlertsQuery = queryOptions({
  queryKey: [...alertKeys.all, "unread"],
  queryFn: ({ signal }) =>
    call(api.GET("/api/v1/alerts", { params: { query: { unread: true, limit: 100 } }, signal })).then(
      (b) => b.alerts ?? [],
    ),
  refetchInterval: 60_000,
});

export function markAlertsRead(ids: number[]) {
  return call(api.POST("/api/v1/alerts/read", { body: { ids } }));
}
