import { useEffect, useEffectEvent, useState } from "react";
import { ApiError, type StreamEvent } from "../api/client";
import { eventsURL, streamRefusal } from "../services/events";

export type StreamStatus = "idle" | "connecting" | "live" | "reconnecting" | "ended";

const EVENT_NAMES: readonly StreamEvent["event"][] = ["task", "progress", "alert"];
const MAX_BACKOFF_MS = 15_000;
// A 429 without Retry-After (the server always sends one today) still waits.
const LIMITED_MS = MAX_BACKOFF_MS;

/**
 * useEventStream keeps an EventSource open on `path` (null: none) and hands
 * each named event to onEvent; onEvent returning true ends the stream (a
 * task's stream after its final state). Every (re)connect gets a fresh
 * events token, so a connection lost after the token expired comes back;
 * the server then starts with a snapshot, which restores what was missed.
 * A stream refused before it opened is asked why (EventSource hides the
 * status): a 429 (too many open streams) waits at least its Retry-After,
 * a 403 or 404 ends the stream.
 */
export function useEventStream(
  path: string | null,
  onEvent: (ev: StreamEvent) => boolean | void,
): StreamStatus {
  const [status, setStatus] = useState<{ path: string; status: StreamStatus } | null>(null);
  const deliver = useEffectEvent((ev: StreamEvent) => onEvent(ev) === true);

  useEffect(() => {
    if (!path) return;
    let es: EventSource | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let failures = 0;
    const set = (s: StreamStatus) => {
      if (!stopped || s === "ended") setStatus({ path, status: s });
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
          stopped = true; // signed out or not allowed: nothing to reconnect to
          set("ended");
          return;
        }
        retryLater();
        return;
      }
      if (stopped) return;
      const source = new EventSource(url);
      es = source;
      let opened = false;
      source.onopen = () => {
        opened = true;
        failures = 0;
        set("live");
      };
      source.onerror = () => {
        // Reconnect ourselves: the browser would reuse the expired token.
        source.close();
        if (es !== source || stopped) return;
        es = null;
        if (opened) {
          retryLater();
          return;
        }
        set("reconnecting");
        void streamRefusal(url).then((refusal) => {
          if (stopped) return;
          if (refusal && (refusal.status === 403 || refusal.status === 404)) {
            stopped = true;
            set("ended");
            return;
          }
          if (refusal?.limited) {
            const wait = refusal.retryAfter;
            retryLater(wait !== undefined ? wait * 1000 : LIMITED_MS);
            return;
          }
          retryLater();
        });
      };
      for (const name of EVENT_NAMES) {
        source.addEventListener(name, (m: MessageEvent<string>) => {
          if (stopped) return;
          let data: unknown;
          try {
            data = JSON.parse(m.data);
          } catch {
            return;
          }
          if (deliver({ event: name, data } as StreamEvent)) {
            stopped = true;
            source.close();
            set("ended");
          }
        });
      }
    };
    void connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      es?.close();
    };
  }, [path]);

  if (!path) return "idle";
  return status?.path === path ? status.status : "connecting";
}
