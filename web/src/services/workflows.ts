// Workflows: query options, actions, and which stream events refetch them.
import { queryOptions, type QueryClient } from "@tanstack/react-query";
import { api, call, type Schemas, type TaskState } from "../api/client";
import { isFinished } from "./tasks";

export type Workflow = Schemas["Workflow"];
export type WorkflowStep = Schemas["WorkflowStep"];
export type WorkflowEvent = Schemas["WorkflowEvent"];

/** How many workflows the list shows (newest first). */
export const WORKFLOW_PAGE = 100;

export const workflowKeys = {
  all: ["workflows"] as const,
  lists: () => [...workflowKeys.all, "list"] as const,
  details: () => [...workflowKeys.all, "detail"] as const,
  detail: (id: number) => [...workflowKeys.details(), id] as const,
};

export const workflowListQuery = queryOptions({
  queryKey: workflowKeys.lists(),
  queryFn: ({ signal }) => call(api.GET("/api/v1/workflows", { params: { query: { limit: WORKFLOW_PAGE } }, signal })),
});

export function workflowQuery(id: number) {
  return queryOptions({
    queryKey: workflowKeys.detail(id),
    queryFn: ({ signal }) => call(api.GET("/api/v1/workflows/{id}", { params: { path: { id } }, signal })),
  });
}

export function cancelWorkflow(id: number) {
  return call(api.POST("/api/v1/workflows/{id}/cancel", { params: { path: { id } } }));
}

export function retryWorkflow(id: number) {
  return call(api.POST("/api/v1/workflows/{id}/retry", { params: { path: { id } } }));
}

/** refreshAccount starts the refresh-mailbox workflow (or finds the unfinished one: duplicate). */
export function refreshAccount(accountId: number, full = false) {
  return call(api.POST("/api/v1/accounts/{id}/refresh", { params: { path: { id: accountId } }, body: { full } }));
}

export function canCancelWorkflow(state: TaskState): boolean {
  return !isFinished(state) && state !== "cancelling";
}

export function canRetryWorkflow(state: TaskState): boolean {
  return state === "failed" || state === "cancelled";
}

/** Steps that have finished, whatever their outcome (get-workflow's counts). */
export function finishedSteps(w: Workflow): number {
  const p = w.progress;
  return p.completed + p.failed + p.cancelled + p.skipped;
}

/**
 * listedFinishedSteps is finishedSteps for a workflow of list-workflows,
 * whose progress (unlike get-workflow's) leaves the per-outcome counts at
 * zero: there, percent is exactly the share of steps no longer open.
 */
export function listedFinishedSteps(w: Workflow): number {
  return Math.round((w.progress.percent / 100) * w.progress.total);
}

/**
 * stepStatus is what a step's badge says: how it ended, else "waiting"
 * while its deps run, else its task's state.
 */
export function stepStatus(s: WorkflowStep): string {
  return s.outcome ?? (s.waiting ? "waiting" : s.state);
}

/**
 * WorkflowRefresher refetches the workflows the stream says changed (streams
 * notify; queries fetch): a workflow event refetches that workflow and the
 * lists; a task or progress event refetches the workflows shown with that
 * task as a step. Refetches are gathered and made at most every `delayMs`,
 * so a burst of progress reports costs one request.
 */
export class WorkflowRefresher {
  private readonly qc: QueryClient;
  private readonly delayMs: number;
  private readonly pending = new Set<number>();
  private lists = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(qc: QueryClient, delayMs = 400) {
    this.qc = qc;
    this.delayMs = delayMs;
  }

  workflow(ev: WorkflowEvent) {
    this.pending.add(ev.id);
    this.lists = true;
    this.schedule();
  }

  /**
   * task: an event about task `taskId` arrived (stateChange: a task event,
   * not a progress report). A workflow starts with no workflow event (one
   * comes when a step finishes): a listed workflow still pending is
   * refetched on any task's change of state.
   */
  task(taskId: number, stateChange = false) {
    for (const q of this.qc.getQueryCache().findAll({ queryKey: workflowKeys.details() })) {
      const w = q.state.data as Workflow | undefined;
      if (w?.steps?.some((s) => s.task_id === taskId)) this.pending.add(w.id);
    }
    if (stateChange) {
      for (const q of this.qc.getQueryCache().findAll({ queryKey: workflowKeys.lists() })) {
        const list = q.state.data as { workflows?: Workflow[] } | undefined;
        if (list?.workflows?.some((w) => w.state === "pending")) this.lists = true;
      }
    }
    this.schedule();
  }

  private schedule() {
    if (this.timer || (!this.pending.size && !this.lists)) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      for (const id of this.pending) void this.qc.invalidateQueries({ queryKey: workflowKeys.detail(id), exact: true });
      if (this.lists) void this.qc.invalidateQueries({ queryKey: workflowKeys.lists() });
      this.pending.clear();
      this.lists = false;
    }, this.delayMs);
  }

  dispose() {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
