import { QueryClient } from "@tanstack/react-query";
import { WorkflowRefresher, listedFinishedSteps, stepStatus, workflowKeys, type Workflow, type WorkflowStep } from "./workflows";

const step = (over: Partial<WorkflowStep>): WorkflowStep => ({
  name: "s",
  kind: "k",
  task_id: 1,
  deps: [],
  when: "success",
  state: "pending",
  waiting: false,
  attempt: 0,
  max_attempts: 1,
  percent: 0,
  ...over,
});

const workflow = (id: number, taskIds: number[]): Workflow => ({
  id,
  name: "w",
  policy: "stop",
  state: "running",
  run: 1,
  created_at: "2026-01-01T00:00:00Z",
  progress: { total: taskIds.length, completed: 0, failed: 0, cancelled: 0, skipped: 0, running: 1, waiting: 0, percent: 10 },
  steps: taskIds.map((t) => step({ name: `s${t}`, task_id: t })),
});

const event = (id: number) => ({
  id,
  state: "running" as const,
  run: 1,
  steps_total: 3,
  steps_finished: 1,
  steps_failed: 0,
  step: "a",
  task_id: 1,
  at: "2026-01-01T00:00:00Z",
});

describe("stepStatus", () => {
  it("says how a step ended, else that it waits, else its state", () => {
    expect(stepStatus(step({ state: "cancelled", outcome: "skipped" }))).toBe("skipped");
    expect(stepStatus(step({ waiting: true }))).toBe("waiting");
    expect(stepStatus(step({ state: "running" }))).toBe("running");
  });
});

describe("listedFinishedSteps", () => {
  it("reads the finished share of a listed workflow", () => {
    const w = workflow(1, [1, 2, 3]);
    w.progress.percent = (2 / 3) * 100;
    expect(listedFinishedSteps(w)).toBe(2);
  });
});

describe("WorkflowRefresher", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function setup() {
    const qc = new QueryClient();
    qc.setQueryData(workflowKeys.detail(1), workflow(1, [10, 11]));
    qc.setQueryData(workflowKeys.detail(2), workflow(2, [20]));
    const invalidate = vi.spyOn(qc, "invalidateQueries").mockResolvedValue();
    return { r: new WorkflowRefresher(qc, 400), invalidate, qc };
  }
  const keys = (spy: ReturnType<typeof setup>["invalidate"]) => spy.mock.calls.map((c) => JSON.stringify(c[0]?.queryKey));

  it("refetches the workflow whose step's task reported, once per burst", () => {
    const { r, invalidate } = setup();
    r.task(11);
    r.task(11);
    r.task(99); // no workflow shown has it
    expect(invalidate).not.toHaveBeenCalled();
    vi.advanceTimersByTime(400);
    expect(keys(invalidate)).toEqual([JSON.stringify(workflowKeys.detail(1))]);
  });

  it("refetches the workflow and the lists on a workflow event", () => {
    const { r, invalidate } = setup();
    r.workflow(event(2));
    r.task(10);
    vi.advanceTimersByTime(400);
    expect(keys(invalidate).sort()).toEqual(
      [workflowKeys.detail(2), workflowKeys.detail(1), workflowKeys.lists()].map((k) => JSON.stringify(k)).sort(),
    );
    invalidate.mockClear();
    vi.advanceTimersByTime(2000);
    expect(invalidate).not.toHaveBeenCalled();
  });

  it("refetches a list that holds a pending workflow when a task changes state", () => {
    const { r, invalidate, qc } = setup();
    qc.setQueryData(workflowKeys.lists(), { workflows: [{ ...workflow(3, []), state: "running" }] });
    r.task(99, true);
    vi.advanceTimersByTime(400);
    expect(invalidate).not.toHaveBeenCalled();
    qc.setQueryData(workflowKeys.lists(), { workflows: [{ ...workflow(3, []), state: "pending" }] });
    r.task(99); // a progress report: no
    vi.advanceTimersByTime(400);
    expect(invalidate).not.toHaveBeenCalled();
    r.task(99, true);
    vi.advanceTimersByTime(400);
    expect(keys(invalidate)).toEqual([JSON.stringify(workflowKeys.lists())]);
  });

  it("does nothing after dispose", () => {
    const { r, invalidate } = setup();
    r.workflow(event(1));
    r.dispose();
    vi.advanceTimersByTime(1000);
    expect(invalidate).not.toHaveBeenCalled();
  });
});
