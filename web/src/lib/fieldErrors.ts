import { ApiError } from "../api/client";

const REQUIRED = /^expected required property (\S+) to be present$/;

/**
 * fieldErrors sorts a problem's errors by field: "body.args.label" becomes
 * "args.label", "body.run_at" "run_at"; a missing required property, which
 * Huma reports on the parent object, goes to the property itself. A problem
 * without field errors whose detail starts with a field's name ("cron …:
 * expected 5 to 6 fields") goes to that field. What names no known field
 * stays in `other`, to show above the form.
 */
export function fieldErrors(err: unknown, known: (field: string) => boolean) {
  const byField: Record<string, string> = {};
  const other: string[] = [];
  if (!(err instanceof ApiError)) return { byField, other };
  const add = (field: string, msg: string) => {
    byField[field] = byField[field] ? `${byField[field]}; ${msg}` : msg;
  };
  for (const e of err.fieldErrors) {
    let field = (e.location ?? "").replace(/^body\.?/, "");
    let msg = e.message ?? "invalid";
    const req = REQUIRED.exec(msg);
    if (req) {
      field = field ? `${field}.${req[1]}` : (req[1] ?? "");
      msg = "required";
    }
    if (field && known(field)) add(field, msg);
    else other.push(field ? `${field}: ${msg}` : msg);
  }
  if (!err.fieldErrors.length) {
    const first = /^([a-z_]+)\b/.exec(err.message)?.[1];
    if (first && known(first)) add(first, err.message);
  }
  return { byField, other };
}
