// Typed Server-Sent Events over the browser's EventSource. Each stream's
// events come from the document (schema.d.ts): a union discriminated by
// `event`, one member per event name the stream sends.
import type { operations } from "./schema";

/** The operations that answer with a stream of Server-Sent Events. */
export type StreamOperation = "stream-events" | "stream-task-events";

/** One event of a stream, as the document describes it. */
export type StreamEvent<Op extends StreamOperation> =
  operations[Op]["responses"][200]["content"]["text/event-stream"];

type AnyEvent = StreamEvent<StreamOperation>;
type EventName = AnyEvent["event"];

/**
 * The event names each stream sends, to listen for. Checked against the
 * document both ways: an event it adds, or one it drops, fails tsc here.
 */
const STREAM_EVENTS = {
  "stream-events": { task: true, progress: true, workflow: true, alert: true, snapshot_end: true },
  "stream-task-events": { task: true, progress: true, snapshot_end: true },
} as const satisfies { [Op in StreamOperation]: Record<StreamEvent<Op>["event"], true> };

type Fields = Record<string, unknown>;

/**
 * What an event's data must hold to be used: the fields the dashboard keys
 * on, per event name (one entry per name the document lists).
 */
const WELL_FORMED: Record<EventName, (d: Fields) => boolean> = {
  task: (d) => typeof d.id === "number" && typeof d.state === "string" && typeof d.change === "string",
  progress: (d) => typeof d.id === "number" && typeof d.done === "number",
  workflow: (d) => typeof d.id === "number" && typeof d.state === "string" && typeof d.task_id === "number",
  alert: (d) => typeof d.id === "number" && typeof d.title === "string" && typeof d.severity === "string",
  snapshot_end: (d) => typeof d.count === "number" && typeof d.truncated === "boolean",
};

/** An event that was received but not understood: reported, never applied. */
export interface MalformedEvent {
  /** The event name ("message" for an event without one). */
  event: string;
  data: string;
  reason: string;
}

export interface StreamHandlers<Op extends StreamOperation> {
  /** A well-formed event; returning true closes the stream (a task's final state). */
  onEvent: (ev: StreamEvent<Op>) => boolean | void;
  /** The connection opened (again). */
  onOpen?: () => void;
  /**
   * The connection failed. gaveUp false: the browser reconnects by itself,
   * sending Last-Event-ID. gaveUp true: the server refused a (re)connection
   * (an expired events token, a 429…) and the EventSource is closed: open a
   * new stream with this one's lastEventId.
   */
  onError?: (gaveUp: boolean) => void;
  /** An event whose data is not what the document says. */
  onMalformed?: (m: MalformedEvent) => void;
}

export interface OpenOptions<Op extends StreamOperation> {
  /** Which operation `url` addresses: it decides the events listened for. */
  stream: Op;
  /**
   * Resume after this event id, for a new EventSource, which cannot set the
   * Last-Event-ID header: sent as the last_event_id query parameter.
   */
  lastEventId?: string;
}

export interface EventStream {
  /** The id of the last event received that carried one (else the one resumed from). */
  readonly lastEventId: string;
  /** How many malformed events were received. */
  readonly malformed: number;
  close(): void;
}

/** withLastEventId adds the last_event_id query parameter to url. */
export function withLastEventId(url: string, id: string | undefined): string {
  if (!id) return url;
  const sep = url.includes("?") ? "&" : "?";
  return `${url}${sep}last_event_id=${encodeURIComponent(id)}`;
}

/**
 * openEvents opens one EventSource on url and hands each well-formed event,
 * typed, to handlers.onEvent. It never closes the EventSource on a dropped
 * connection: the browser reconnects by itself and sends Last-Event-ID, so
 * the server replays what was missed. Only when the browser gives up (see
 * onError) must the caller open a new one, passing lastEventId.
 */
export function openEvents<Op extends StreamOperation>(
  url: string,
  handlers: StreamHandlers<Op>,
  options: OpenOptions<Op>,
): EventStream {
  const es = new EventSource(withLastEventId(url, options.lastEventId));
  let lastEventId = options.lastEventId ?? "";
  let malformed = 0;
  let closed = false;

  const close = () => {
    closed = true;
    es.close();
  };
  const reject = (m: MalformedEvent) => {
    malformed++;
    handlers.onMalformed?.(m);
  };
  const receive = (name: EventName, m: MessageEvent<string>) => {
    if (closed) return;
    // Events without an id (a snapshot's) leave the last one in place.
    if (m.lastEventId) lastEventId = m.lastEventId;
    let data: unknown;
    try {
      data = JSON.parse(m.data);
    } catch {
      reject({ event: name, data: m.data, reason: "data is not JSON" });
      return;
    }
    if (typeof data !== "object" || data === null || !WELL_FORMED[name](data as Fields)) {
      reject({ event: name, data: m.data, reason: `data is not a ${name} event` });
      return;
    }
    const ev = { event: name, data, ...(m.lastEventId ? { id: m.lastEventId } : {}) } as StreamEvent<Op>;
    if (handlers.onEvent(ev) === true) close();
  };

  for (const name of Object.keys(STREAM_EVENTS[options.stream]) as EventName[]) {
    es.addEventListener(name, (m: MessageEvent<string>) => receive(name, m));
  }
  // The streams name every event: an unnamed one is not in the document.
  es.onmessage = (m: MessageEvent<string>) => {
    if (!closed) reject({ event: "message", data: m.data, reason: "an event without a name" });
  };
  es.onopen = () => {
    if (!closed) handlers.onOpen?.();
  };
  es.onerror = () => {
    if (closed) return;
    const gaveUp = es.readyState === EventSource.CLOSED;
    if (gaveUp) closed = true;
    handlers.onError?.(gaveUp);
  };

  return {
    get lastEventId() {
      return lastEventId;
    },
    get malformed() {
      return malformed;
    },
    close,
  };
}
