// The typed API client: openapi-fetch over the types openapi-typescript
// generates from web/openapi.json (schema.d.ts; never edit it by hand).
import createClient, { type Middleware } from "openapi-fetch";
import { expireSession, getToken } from "../auth/session";
import type { components, operations, paths } from "./schema";

export type Schemas = components["schemas"];
export type Task = Schemas["Task"];
export type TaskState = Task["state"];
export type TaskEvent = Schemas["TaskEvent"];
export type ProgressEvent = Schemas["ProgressEvent"];
export type AlertEvent = Schemas["AlertEvent"];
export type Alert = Schemas["Alert"];
export type Schedule = Schemas["Schedule"];
export type Queue = Schemas["Queue"];
export type KindInfo = Schemas["KindInfo"];
export type BulkResult = Schemas["BulkOutputBody"];
export type ThroughputPoint = Schemas["ThroughputPoint"];
export type SystemHealth = Schemas["SystemHealthOutputBody"];
export type ErrorDetail = Schemas["ErrorDetail"];

/** One Server-Sent Event of the event streams, typed from the document. */
export type StreamEvent =
  operations["stream-events"]["responses"][200]["content"]["text/event-stream"][number];

export const TASK_STATES: readonly TaskState[] = [
  "pending",
  "scheduled",
  "running",
  "cancelling",
  "retrying",
  "completed",
  "failed",
  "cancelled",
];

/** ApiError is a failed call: the problem's detail, its status and field errors. */
export class ApiError extends Error {
  readonly status: number;
  readonly fieldErrors: ErrorDetail[];

  constructor(status: number, message: string, fieldErrors: ErrorDetail[] = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.fieldErrors = fieldErrors;
  }
}

const auth: Middleware = {
  onRequest({ request }) {
    const token = getToken();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    // A revoked or mistyped token: back to the sign-in page with a reason.
    if (response.status === 401 && getToken()) expireSession("Your token was refused; sign in again.");
    return response;
  },
};

export const api = createClient<paths>({
  baseUrl: globalThis.location?.origin ?? "",
  // Looked up per call, so tests can stub the global fetch.
  fetch: (request) => globalThis.fetch(request),
});
api.use(auth);

type Problem = { detail?: string; title?: string; errors?: ErrorDetail[] | null };

function isProblem(v: unknown): v is Problem {
  return typeof v === "object" && v !== null;
}

/**
 * call awaits an openapi-fetch call and returns its data, or throws an
 * ApiError. It checks response.ok rather than `error`: a non-2xx answer with
 * an empty body (a proxy's 502) comes back with error undefined.
 */
export async function call<T>(
  pending: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await pending;
  } catch (err) {
    throw new ApiError(0, `The server cannot be reached (${err instanceof Error ? err.message : String(err)})`);
  }
  const { data, error, response } = result;
  if (!response.ok) {
    const p = isProblem(error) ? error : {};
    throw new ApiError(
      response.status,
      p.detail ?? p.title ?? `HTTP ${response.status} ${response.statusText}`.trim(),
      p.errors ?? [],
    );
  }
  return data as T;
}

/** errorMessage renders anything thrown as one line for the user. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
