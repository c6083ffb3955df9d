// Queues, dead letters, throughput and system health: the operators' view.
import { queryOptions } from "@tanstack/react-query";
import { api, call, ApiError } from "../api/client";

export const queuesQuery = queryOptions({
  queryKey: ["queues"],
  queryFn: ({ signal }) => call(api.GET("/api/v1/queues", { signal })).then((b) => b.queues ?? []),
  refetchInterval: 5_000,
});

export function pauseQueue(name: string) {
  return call(api.POST("/api/v1/queues/{name}/pause", { params: { path: { name } } }));
}

export function resumeQueue(name: string) {
  return call(api.POST("/api/v1/queues/{name}/resume", { params: { path: { name } } }));
}

export const statsQuery = queryOptions({
  queryKey: ["stats"],
  queryFn: ({ signal }) => call(api.GET("/api/v1/stats", { signal })),
  refetchInterval: 10_000,
});

export const deadLettersQuery = queryOptions({
  queryKey: ["dead-letters"],
  queryFn: ({ signal }) =>
    call(api.GET("/api/v1/dead-letters", { params: { query: { limit: 100 } }, signal })),
  refetchInterval: 10_000,
});

export function redrive(ids: number[]) {
  return call(api.POST("/api/v1/dead-letters/redrive", { body: { ids } }));
}

export const systemHealthQuery = queryOptions({
  queryKey: ["system-health"],
  queryFn: async ({ signal }) => {
    try {
      return await call(api.GET("/api/v1/system/health", { signal }));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null; // no check has run yet
      throw err;
    }
  },
  refetchInterval: 15_000,
  retry: false,
});

/**
 * isAdminQuery tells whether the signed-in token is an admin's. The API has
 * no "who am I" operation; get-system-health answers 403 to anyone else.
 */
export const isAdminQuery = queryOptions({
  queryKey: ["session", "is-admin"],
  queryFn: async ({ signal }) => {
    try {
      await call(api.GET("/api/v1/system/health", { signal }));
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) return false;
      if (err instanceof ApiError && err.status === 404) return true;
      throw err;
    }
  },
  staleTime: Infinity,
});
