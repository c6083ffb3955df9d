// Event-stream access: EventSource cannot send the bearer header, so each
// (re)connect first exchanges it for a two-minute events token.
import { api, ApiError, call, problemError } from "../api/client";

export async function eventsURL(path: string): Promise<string> {
  const { token } = await call(api.POST("/api/v1/events/token"));
  const sep = path.includes("?") ? "&" : "?";
  return `${path}${sep}access_token=${encodeURIComponent(token)}`;
}

export const EVENTS_PATH = "/api/v1/events";

export function taskEventsPath(id: number): string {
  return `/api/v1/tasks/${id}/events`;
}

/**
 * streamRefusal asks why an EventSource failed before it opened, which
 * EventSource cannot say: it fetches the same URL and reads only the
 * status, the headers and a problem's body. It returns the refusal (a 429
 * with its Retry-After, a 404…) or null when the stream would open now or
 * the server cannot be reached; a stream that opens is aborted at once.
 */
export async function streamRefusal(url: string): Promise<ApiError | null> {
  const ctl = new AbortController();
  try {
    const res = await globalThis.fetch(url, { headers: { Accept: "text/event-stream" }, signal: ctl.signal });
    if (res.ok) return null;
    const body: unknown = await res.json().catch(() => undefined);
    return problemError(res, body);
  } catch {
    return null;
  } finally {
    ctl.abort();
  }
}
