import { openEvents, withLastEventId, type MalformedEvent, type StreamEvent } from "./sse";

/** FakeEventSource stands in for the browser's (jsdom has none). */
class FakeEventSource {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  static instances: FakeEventSource[] = [];

  readonly url: string;
  readyState = FakeEventSource.CONNECTING;
  closes = 0;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onmessage: ((e: MessageEvent<string>) => void) | null = null;
  readonly listeners = new Map<string, ((e: MessageEvent<string>) => void)[]>();

  constructor(url: string) {
    this.url = url;
    FakeEventSource.instances.push(this);
  }
  addEventListener(name: string, fn: (e: MessageEvent<string>) => void) {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), fn]);
  }
  close() {
    this.closes++;
    this.readyState = FakeEventSource.CLOSED;
  }
  // Test controls, as the browser behaves:
  open() {
    this.readyState = FakeEventSource.OPEN;
    this.onopen?.();
  }
  /** A named event; raw data is sent as is, anything else as JSON. */
  emit(name: string, data: unknown, lastEventId = "") {
    const m = new MessageEvent(name, { data: typeof data === "string" ? data : JSON.stringify(data), lastEventId });
    if (name === "message") this.onmessage?.(m);
    for (const fn of this.listeners.get(name) ?? []) fn(m);
  }
  /** The connection dropped: the browser reconnects by itself. */
  drop() {
    this.readyState = FakeEventSource.CONNECTING;
    this.onerror?.();
  }
  /** A (re)connection was refused (401, 429…): the browser gives up. */
  refuse() {
    this.readyState = FakeEventSource.CLOSED;
    this.onerror?.();
  }
}

const at = "2026-01-01T00:00:00Z";
const task = { id: 7, kind: "test_echo", queue: "default", state: "running", change: "started", attempt: 1, max_attempts: 3, priority: 2, at };
const last = () => FakeEventSource.instances.at(-1) as FakeEventSource;

beforeEach(() => {
  FakeEventSource.instances = [];
  vi.stubGlobal("EventSource", FakeEventSource);
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("openEvents", () => {
  it("hands over typed events, with their ids", () => {
    const got: StreamEvent<"stream-events">[] = [];
    openEvents("/api/v1/events?access_token=t", { onEvent: (ev) => void got.push(ev) }, { stream: "stream-events" });
    expect(last().url).toBe("/api/v1/events?access_token=t");
    last().emit("task", task, "e-1");
    last().emit("progress", { id: 7, done: 3, total: 29, rate: 1, at }, "e-2");
    last().emit("alert", { id: 1, severity: "info", title: "done", message: "", system: false, at }, "e-3");
    last().emit("snapshot_end", { count: 0, truncated: false }, "e-4");
    expect(got.map((e) => [e.event, e.id])).toEqual([
      ["task", "e-1"],
      ["progress", "e-2"],
      ["alert", "e-3"],
      ["snapshot_end", "e-4"],
    ]);
    const first = got[0];
    expect(first?.event === "task" && first.data.state).toBe("running");
  });

  it("listens only for the events the stream sends", () => {
    openEvents("/api/v1/tasks/7/events", { onEvent: () => {} }, { stream: "stream-task-events" });
    expect([...last().listeners.keys()].sort()).toEqual(["progress", "snapshot_end", "task"]);
  });

  it("reports and counts malformed events instead of dropping them silently", () => {
    const onEvent = vi.fn();
    const bad: MalformedEvent[] = [];
    const s = openEvents("/e", { onEvent, onMalformed: (m) => bad.push(m) }, { stream: "stream-events" });
    last().emit("task", "{not json");
    last().emit("progress", { id: "7", done: 3 }); // id is a number in the document
    last().emit("snapshot_end", null);
    last().emit("message", { hello: 1 }); // unnamed: not in the document
    expect(onEvent).not.toHaveBeenCalled();
    expect(s.malformed).toBe(4);
    expect(bad.map((m) => [m.event, m.reason])).toEqual([
      ["task", "data is not JSON"],
      ["progress", "data is not a progress event"],
      ["snapshot_end", "data is not a snapshot_end event"],
      ["message", "an event without a name"],
    ]);
    expect(bad[0]?.data).toBe("{not json");
  });

  it("keeps one EventSource across dropped connections, so the browser sends Last-Event-ID", () => {
    const onError = vi.fn();
    const s = openEvents("/e", { onEvent: () => {}, onError }, { stream: "stream-events" });
    last().open();
    last().emit("task", task, "e-9");
    last().drop();
    expect(onError).toHaveBeenLastCalledWith(false);
    expect(last().closes).toBe(0);
    expect(FakeEventSource.instances).toHaveLength(1);
    // Snapshot events carry no id: the last one stays.
    last().emit("task", { ...task, change: "snapshot" });
    expect(s.lastEventId).toBe("e-9");

    last().refuse();
    expect(onError).toHaveBeenLastCalledWith(true);
  });

  it("resumes a new EventSource from the last id by query parameter", () => {
    const s = openEvents("/e?access_token=t", { onEvent: () => {} }, { stream: "stream-events", lastEventId: "ab-12" });
    expect(last().url).toBe("/e?access_token=t&last_event_id=ab-12");
    expect(s.lastEventId).toBe("ab-12");
    expect(withLastEventId("/e", "x y")).toBe("/e?last_event_id=x%20y");
    expect(withLastEventId("/e", undefined)).toBe("/e");
  });

  it("closes when onEvent says the stream is done, and ignores what follows", () => {
    const onEvent = vi.fn((ev: StreamEvent<"stream-task-events">) => ev.event === "task" && ev.data.state === "completed");
    openEvents("/e", { onEvent }, { stream: "stream-task-events" });
    last().emit("task", { ...task, state: "completed", change: "completed" }, "e-1");
    expect(last().readyState).toBe(FakeEventSource.CLOSED);
    last().emit("progress", { id: 7, done: 1, rate: 0, at }, "e-2");
    expect(onEvent).toHaveBeenCalledTimes(1);
  });
});
