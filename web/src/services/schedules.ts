// Schedules (recurring tasks).
import { queryOptions } from "@tanstack/react-query";
import { api, call } from "../api/client";
import type { operations } from "../api/schema";

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
type CreateBody = operations["create-schedule"]["requestBody"]["content"]["application/json"];
export type ScheduleChanges = operations["update-schedule"]["requestBody"]["content"]["application/json"];

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
