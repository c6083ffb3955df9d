import { act, renderHook } from "@testing-library/react";
import { useEventStream } from "./useEventStream";

/** FakeEventSource stands in for the browser's (jsdom has none). */
class FakeEventSource {
  static readonly CLOSED = 2;
  static instances: FakeEventSource[] = [];
  readonly url: string;
  readyState = 0;
  closes = 0;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onmessage: (() => void) | null = null;
  private readonly listeners = new Map<string, ((e: MessageEvent<string>) => void)[]>();
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
  emit(name: string, data: unknown, lastEventId = "") {
    for (const fn of this.listeners.get(name) ?? []) fn(new MessageEvent(name, { data: JSON.stringify(data), lastEventId }));
  }
  /** The connection dropped: the browser reconnects by itself. */
  drop() {
    this.readyState = 0;
    this.onerror?.();
  }
  /** A (re)connection was refused: the browser gives up. */
  refuse() {
    this.readyState = FakeEventSource.CLOSED;
    this.onerror?.();
  }
}

let streamAnswer: () => Response;
const probes: string[] = [];
const fetchMock = vi.fn(async (input: RequestInfo | URL) => {
  const req = input instanceof Request ? input : new Request(new URL(String(input), "http://localhost"));
  const url = new URL(req.url);
  if (req.method === "POST" && url.pathname === "/api/v1/events/token") {
    return new Response(JSON.stringify({ token: "evt", expires_at: "2026-01-01T00:00:00Z" }), {
      headers: { "Content-Type": "application/json" },
    });
  }
  probes.push(url.pathname);
  return streamAnswer();
});

const refused = (headers: Record<string, string>) =>
  new Response(
    JSON.stringify({ title: "Too Many Requests", status: 429, detail: "too many open event streams: at most 10 per user" }),
    { status: 429, headers: { "Content-Type": "application/problem+json", ...headers } },
  );

// Lets the token fetch, the probe and the state updates run.
const settle = () => act(() => vi.advanceTimersByTimeAsync(0));
const advance = (ms: number) => act(() => vi.advanceTimersByTimeAsync(ms));
const count = () => FakeEventSource.instances.length;
const last = () => FakeEventSource.instances.at(-1) as FakeEventSource;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  FakeEventSource.instances = [];
  probes.length = 0;
  vi.stubGlobal("EventSource", FakeEventSource);
  vi.stubGlobal("fetch", fetchMock);
  localStorage.setItem("inboxq.token", "iq_test");
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  localStorage.clear();
});

describe("useEventStream", () => {
  it("waits out a 429's Retry-After before it reconnects", async () => {
    streamAnswer = () => refused({ "Retry-After": "7" });
    const { result, unmount } = renderHook(() => useEventStream("/api/v1/events", "stream-events", () => {}));
    await settle();
    expect(count()).toBe(1);

    act(() => last().refuse());
    await settle();
    expect(probes).toEqual(["/api/v1/events"]);
    expect(result.current).toBe("reconnecting");

    await advance(6_900); // the usual first backoff is 1 s: not for a 429
    expect(count()).toBe(1);
    await advance(200);
    await settle();
    expect(count()).toBe(2);
    unmount();
  });

  it("waits even when a 429 names no wait", async () => {
    streamAnswer = () => refused({});
    const { unmount } = renderHook(() => useEventStream("/api/v1/events", "stream-events", () => {}));
    await settle();
    act(() => last().refuse());
    await settle();
    await advance(14_000);
    expect(count()).toBe(1);
    await advance(1_100);
    await settle();
    expect(count()).toBe(2);
    unmount();
  });

  it("leaves a dropped connection to the browser: the same EventSource, no probe, no new token", async () => {
    streamAnswer = () => refused({ "Retry-After": "7" });
    const { result, unmount } = renderHook(() => useEventStream("/api/v1/events", "stream-events", () => {}));
    await settle();
    act(() => last().onopen?.());
    expect(result.current).toBe("live");
    act(() => last().drop());
    expect(result.current).toBe("reconnecting");
    await advance(30_000);
    await settle();
    expect(count()).toBe(1);
    expect(last().closes).toBe(0);
    expect(probes).toEqual([]);
    act(() => last().onopen?.()); // the browser got back in, with Last-Event-ID
    expect(result.current).toBe("live");
    unmount();
  });

  it("opens a new EventSource with a fresh token and the last event id when the browser gives up", async () => {
    streamAnswer = () =>
      new Response(JSON.stringify({ status: 401, detail: "token expired" }), {
        status: 401,
        headers: { "Content-Type": "application/problem+json" },
      });
    const { unmount } = renderHook(() => useEventStream("/api/v1/events", "stream-events", () => {}));
    await settle();
    act(() => last().onopen?.());
    act(() => last().emit("snapshot_end", { count: 0, truncated: false }, "ab-41"));
    act(() => last().refuse()); // reconnecting with the expired events token was refused
    await settle();
    expect(probes).toEqual(["/api/v1/events"]);
    await advance(1_100);
    await settle();
    expect(count()).toBe(2);
    expect(last().url).toBe("/api/v1/events?access_token=evt&last_event_id=ab-41");
    unmount();
  });

  it("ends a stream the server says is not there", async () => {
    streamAnswer = () =>
      new Response(JSON.stringify({ status: 404, detail: "task 9: not found" }), {
        status: 404,
        headers: { "Content-Type": "application/problem+json" },
      });
    const { result, unmount } = renderHook(() => useEventStream("/api/v1/tasks/9/events", "stream-task-events", () => {}));
    await settle();
    act(() => last().refuse());
    await settle();
    expect(result.current).toBe("ended");
    await advance(30_000);
    expect(count()).toBe(1);
    unmount();
  });
});
