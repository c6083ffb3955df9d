import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, renderHook, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import type { Task } from "../api/client";
import { storeTask } from "../services/tasks";
import { useTaskStatus } from "./useTaskStatus";

/** FakeEventSource stands in for the browser's (jsdom has none). */
class FakeEventSource {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  static instances: FakeEventSource[] = [];

  readonly url: string;
  readyState = FakeEventSource.CONNECTING;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  private readonly listeners = new Map<string, ((e: MessageEvent<string>) => void)[]>();

  constructor(url: string) {
    this.url = url;
    FakeEventSource.instances.push(this);
  }
  addEventListener(name: string, fn: (e: MessageEvent<string>) => void) {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), fn]);
  }
  close() {
    this.readyState = FakeEventSource.CLOSED;
  }
  // Test controls:
  open() {
    this.readyState = FakeEventSource.OPEN;
    this.onopen?.();
  }
  emit(name: string, data: unknown) {
    for (const fn of this.listeners.get(name) ?? []) fn(new MessageEvent(name, { data: JSON.stringify(data) }));
  }
  /** A reconnection was refused (the events token expired): the browser gives up. */
  refuse() {
    this.readyState = FakeEventSource.CLOSED;
    this.onerror?.();
  }
}

const created = "2026-01-01T00:00:00Z";
function task(p: Partial<Task>): Task {
  return {
    id: 7,
    kind: "sync_user_emails",
    queue: "sync",
    priority: 2,
    state: "pending",
    attempt: 0,
    max_attempts: 10,
    errors: [],
    args: {},
    created_at: created,
    scheduled_at: created,
    wait_seconds: 0,
    run_seconds: 0,
    ...p,
  };
}

function json(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

let served: Task;
let tokens = 0;
const fetchMock = vi.fn(async (input: RequestInfo | URL) => {
  const req = input instanceof Request ? input : new Request(input);
  const path = new URL(req.url).pathname;
  if (req.method === "POST" && path === "/api/v1/events/token") {
    tokens++;
    return json({ token: `evt${tokens}`, expires_at: created });
  }
  if (req.method === "GET" && path === "/api/v1/tasks/7") return json(served);
  if (req.method === "GET" && path === "/api/v1/tasks/7/events") return json({ detail: "token expired" }, 401);
  return json({ detail: "not found" }, 404);
});

function setup() {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const wrapper = ({ children }: { children: ReactNode }) => (
    <QueryClientProvider client={qc}>{children}</QueryClientProvider>
  );
  const hook = renderHook(() => useTaskStatus(7), { wrapper });
  return { qc, ...hook };
}

const last = () => FakeEventSource.instances.at(-1) as FakeEventSource;

beforeEach(() => {
  FakeEventSource.instances = [];
  tokens = 0;
  served = task({});
  vi.stubGlobal("EventSource", FakeEventSource);
  vi.stubGlobal("fetch", fetchMock);
  localStorage.setItem("inboxq.token", "iq_test");
});

afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
});

describe("useTaskStatus", () => {
  it("follows the task's stream until it finishes, then closes it", async () => {
    const { result } = setup();
    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    expect(last().url).toBe("/api/v1/tasks/7/events?access_token=evt1");
    expect(result.current.task?.state).toBe("pending");

    act(() => last().open());
    await waitFor(() => expect(result.current.stream).toBe("live"));

    const at = "2026-01-01T00:00:05Z";
    served = task({ state: "running", attempt: 1, started_at: at }); // what a refetch now returns
    act(() =>
      last().emit("task", { id: 7, kind: "sync_user_emails", queue: "sync", state: "running", change: "started", attempt: 1, max_attempts: 10, priority: 2, at }),
    );
    await waitFor(() => expect(result.current.task?.state).toBe("running"));
    expect(result.current.task?.started_at).toBe(at);

    act(() => last().emit("progress", { id: 7, done: 50, total: 200, percent: 25, stage: "listing", rate: 10, at }));
    await waitFor(() => expect(result.current.task?.progress).toMatchObject({ done: 50, total: 200, stage: "listing" }));

    // Another task's events are not this one's.
    act(() => last().emit("progress", { id: 8, done: 1, rate: 1, at }));
    expect(result.current.task?.progress?.done).toBe(50);

    served = task({ state: "completed", attempt: 1, started_at: at, finished_at: at, result: { messages: 200, pages: 2, history_id: 1, quota_units: 10 } });
    act(() =>
      last().emit("task", { id: 7, kind: "sync_user_emails", queue: "sync", state: "completed", change: "completed", attempt: 1, max_attempts: 10, priority: 2, result: { messages: 200, pages: 2, history_id: 1, quota_units: 10 }, at }),
    );
    await waitFor(() => expect(result.current.task?.state).toBe("completed"));
    expect(result.current.task?.result).toEqual({ messages: 200, pages: 2, history_id: 1, quota_units: 10 });
    expect(last().readyState).toBe(FakeEventSource.CLOSED);
    await waitFor(() => expect(result.current.stream).toBe("idle"));
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it("records a retrying attempt's error", async () => {
    const { result } = setup();
    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    // The event alone carries the error: the refetch it triggers is slower.
    fetchMock.mockImplementationOnce(() => new Promise(() => {}));
    act(() =>
      last().emit("task", { id: 7, kind: "sync_user_emails", queue: "sync", state: "retrying", change: "retrying", attempt: 1, max_attempts: 10, priority: 2, error: "quota exceeded", at: created }),
    );
    await waitFor(() => expect(result.current.task?.state).toBe("retrying"));
    expect(result.current.task?.errors).toEqual([{ attempt: 1, at: created, error: "quota exceeded" }]);
  });

  it("reconnects with a fresh events token when its token is refused", async () => {
    setup();
    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    const first = last();
    act(() => first.open());
    act(() => first.refuse());
    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(2), { timeout: 3000 });
    expect(last().url).toBe("/api/v1/tasks/7/events?access_token=evt2");
  });

  it("opens no stream for a finished task, and opens one again when it is retried", async () => {
    served = task({ state: "cancelled" });
    const { result, qc } = setup();
    await waitFor(() => expect(result.current.task?.state).toBe("cancelled"));
    expect(result.current.stream).toBe("idle");
    expect(FakeEventSource.instances).toHaveLength(0);

    served = task({ state: "pending" });
    act(() => storeTask(qc, served)); // what the retry mutation does with its answer
    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(1));
    expect(result.current.task?.state).toBe("pending");
  });
});
