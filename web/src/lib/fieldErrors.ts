import { ApiError } from "../api/client";

/**
 * fieldErrors sorts a problem's errors by field: "body.args.label" becomes
 * "args.label", "body.run_at" "run_at". What names no known field stays in
 * `other`, to show above the form.
 */
export function fieldErrors(err: unknown, known: (field: string) => boolean) {
  const byField: Record<string, string> = {};
  const other: string[] = [];
  if (!(err instanceof ApiError)) return { byField, other };
  for (const e of err.fieldErrors) {
    const field = (e.location ?? "").replace(/^body\./, "");
    const msg = e.message ?? "invalid";
    if (field && known(field)) byField[field] = byField[field] ? `${byField[field]}; ${msg}` : msg;
    else other.push(field ? `${field}: ${msg}` : msg);
  }
  return { byField, other };
}
