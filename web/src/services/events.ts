// Event-stream access: EventSource cannot send the bearer header, so each
// (re)connect first exchanges it for a two-minute events token.
import { api, call } from "../api/client";

export async function eventsURL(path: string): Promise<string> {
  const { token } = await call(api.POST("/api/v1/events/token"));
  const sep = path.includes("?") ? "&" : "?";
  return `${path}${sep}access_token=${encodeURIComponent(token)}`;
}

export const EVENTS_PATH = "/api/v1/events";

export function taskEventsPath(id: number): string {
  return `/api/v1/tasks/${id}/events`;
}
