import { useEffect, useEffectEvent, useState } from "react";
import { ApiError } from "../api/client";
import { openEvents, type EventStream, type StreamEvent, type StreamOperation } from "../api/sse";
import { eventsURL, streamRefusal } from "../services/events";

export type StreamStatus = "idle" | "connecting" | "live" | "reconnecting" | "ended";

const MAX_BACKOFF_MS = 15_000;
// A 429 without Retry-After (the server always sends one today) still waits.
const LIMITED_MS = MAX_BACKOFF_MS;

/**
 * useEventStream keeps a stream of the operation `stream` open on `path`
 * (null: none) and hands each event to onEvent; onEvent returning true ends
 * the stream (a task's stream after its final state). A dropped connection
 * is the browser's to restore: the same EventSource reconnects and sends
 * Last-Event-ID, and the server replays what was missed. When the browser
 * gives up (the server refused the reconnection: most often the events
 * token expired), a new EventSource opens with a fresh events token and
 * the last event id as last_event_id. A refused stream is asked why
 * (EventSource hides the status): a 429 (too many open streams) waits at
 * least its Retry-After, a 403 or 404 ends the stream.
 */
export function useEventStream<Op extends StreamOperation>(
  path: string | null,
  stream: Op,
  onEvent: (ev: StreamEvent<Op>) => boolean | void,
): StreamStatus {
  const [status, setStatus] = useState<{ path: string; status: StreamStatus } | null>(null);
  const deliver = useEffectEvent((ev: StreamEvent<Op>) => onEvent(ev) === true);

  useEffect(() => {
    if (!path) return;
    let current: EventStream | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let failures = 0;
    let lastEventId: string | undefined;
    const set = (s: StreamStatus) => {
      if (!stopped || s === "ended") setStatus({ path, status: s });
    };
    const end = () => {
      stopped = true;
      set("ended");
    };
    const retryLater = (atLeastMs = 0) => {
      set("reconnecting");
      const delay = Math.max(atLeastMs, Math.min(MAX_BACKOFF_MS, 1000 * 2 ** failures));
      failures++;
      timer = setTimeout(() => void connect(), delay);
    };
    const connect = async () => {
      let url: string;
      try {
        url = await eventsURL(path);
      } catch (err) {
        if (stopped) return;
        if (err instanceof ApiError && (err.status === 401 || err.status === 403 || err.status === 404)) {
          end(); // signed out or not allowed: nothing to reconnect to
          return;
        }
        retryLater();
        return;
      }
      if (stopped) return;
      const es: EventStream = openEvents(
        url,
        {
          onOpen: () => {
            failures = 0;
            set("live");
          },
          onEvent: (ev) => {
            if (stopped) return true;
            if (!deliver(ev)) return false;
            end();
            return true;
          },
          onMalformed: (m) => console.warn("event stream: malformed event ignored", m),
          onError: (gaveUp) => {
            if (stopped || current !== es) return;
            if (!gaveUp) {
              set("reconnecting"); // the browser reconnects, with Last-Event-ID
              return;
            }
            current = null;
            lastEventId = es.lastEventId || undefined;
            set("reconnecting");
            void streamRefusal(url).then((refusal) => {
              if (stopped) return;
              if (refusal && (refusal.status === 403 || refusal.status === 404)) {
                end();
                return;
              }
              if (refusal?.limited) {
                const wait = refusal.retryAfter;
                retryLater(wait !== undefined ? wait * 1000 : LIMITED_MS);
                return;
              }
              retryLater();
            });
          },
        },
        { stream, lastEventId },
      );
      current = es;
    };
    void connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      current?.close();
    };
  }, [path, stream]);

  if (!path) return "idle";
  return status?.path === path ? status.status : "connecting";
}
