// Schedules (recurring tasks).
import { queryOptions } from "@tanstack/react-query";
import { api, call } from "../api/client";

export const schedulesQuery = queryOptions({
  queryKey: ["schedules"],
  queryFn: ({ signal }) => call(api.GET("/api/v1/schedules", { signal })).then((b) => b.schedules ?? []),
  refetchInterval: 30_000,
});

export type NewSchedule = {
  name: string;
  cron: string;
  timezone: string;
  kind: string;
  args: Record<string, unknown>;
  priority: number;
  enabled: boolean;
};
type CreateBody = NonNullable<Parameters<typeof api.POST<"/api/v1/schedules">>[1]>["body"];
export type ScheduleChanges = NonNullable<Parameters<typeof api.PATCH<"/api/v1/schedules/{id}">>[1]>["body"];

export function createSchedule(s: NewSchedule) {
  // A union over the kinds known at generation time; the server checks it.
  return call(api.POST("/api/v1/schedules", { body: s as CreateBody }));
}

export function updateSchedule(id: number, changes: ScheduleChanges) {
  return call(api.PATCH("/api/v1/schedules/{id}", { params: { path: { id } }, body: changes }));
}

export function deleteSchedule(id: number) {
  return call(api.DELETE("/api/v1/schedules/{id}", { params: { path: { id } } }));
}
