// The typed API client: openapi-fetch over the types openapi-typescript
// generates from web/openapi.json (schema.d.ts; never edit it by hand).
import createClient, { type Middleware } from "openapi-fetch";
import { expireSession, getToken } from "../auth/session";
import { limitMessage, parseRetryAfter } from "../lib/limits";
import type { components, paths } from "./schema";

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
export type BulkResult = Schemas["BulkOutcome"];
export type ThroughputPoint = Schemas["ThroughputPoint"];
export type SystemHealth = Schemas["SystemHealth"];
export type ErrorDetail = Schemas["ErrorDetail"];

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

/**
 * ApiError is a failed call: the problem's detail, its status and field
 * errors, and for a 429 how many seconds the server asked to wait
 * (Retry-After; undefined when waiting alone will not help).
 */
export class ApiError extends Error {
  readonly status: number;
  readonly fieldErrors: ErrorDetail[];
  readonly retryAfter: number | undefined;

  constructor(status: number, message: string, fieldErrors: ErrorDetail[] = [], retryAfter?: number) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.fieldErrors = fieldErrors;
    this.retryAfter = retryAfter;
  }

  /** limited: the server refused for one of the per-user limits (429). */
  get limited(): boolean {
    return this.status === 429;
  }
}

/** isLimited: the error is the server refusing for a per-user limit (429). */
export function isLimited(err: unknown): err is ApiError {
  return err instanceof ApiError && err.limited;
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
  // The document's list parameters are explode: false (kind=a,b): a
  // repeated parameter (kind=a&kind=b, openapi-fetch's default) would be
  // read as its first value only.
  querySerializer: { array: { style: "form", explode: false } },
});
api.use(auth);

type Problem = { detail?: string; title?: string; errors?: ErrorDetail[] | null };

function isProblem(v: unknown): v is Problem {
  return typeof v === "object" && v !== null;
}

/**
 * problemError turns a non-2xx answer and its (RFC 9457) body into an
 * ApiError. A 429 reads as a sentence with the wait in words, from the
 * problem's detail and the Retry-After header.
 */
export function problemError(response: Response, body: unknown): ApiError {
  const p = isProblem(body) ? body : {};
  if (response.status === 429) {
    const wait = parseRetryAfter(response.headers.get("Retry-After"));
    return new ApiError(429, limitMessage(p.detail, wait), p.errors ?? [], wait);
  }
  return new ApiError(
    response.status,
    p.detail ?? p.title ?? `HTTP ${response.status} ${response.statusText}`.trim(),
    p.errors ?? [],
  );
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
  if (!response.ok) throw problemError(response, error);
  return data as T;
}

/** errorMessage renders anything thrown as one line for the user. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** sentence makes a message a sentence: first letter capitalised, a full stop at the end. */
export function sentence(msg: string): string {
  const s = msg.trim();
  if (!s) return s;
  const first = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?)]$/.test(first) ? first : `${first}.`;
}
