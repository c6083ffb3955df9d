// What the server would refuse before a task starts (422), said beside
// Start before the click: the same rules as the kinds' checks in
// internal/jobs (account state; the full scope for a permanent delete).
import type { Schemas } from "../api/client";

type Account = Pick<Schemas["Account"], "id" | "email" | "status" | "scopes">;

/** FULL_SCOPE is Gmail's full access, the only scope that deletes for good. */
export const FULL_SCOPE = "https://mail.google.com/";

/** precheck says why a task cannot start with these args, or undefined when it can. */
export function precheck(kind: string, args: Record<string, unknown>, accounts: readonly Account[] | undefined): string | undefined {
  const acct = accounts?.find((a) => a.id === args.account_id);
  if (!acct) return undefined;
  if (acct.status !== "connected") return `${acct.email} needs reconnecting before inboxq can work on it: reconnect it in Accounts.`;
  if (kind === "bulk_delete_emails" && args.permanent === true && !acct.scopes.includes(FULL_SCOPE))
    return `${acct.email} did not grant full access, which deleting permanently needs. Untick “Delete permanently” to move the messages to the trash instead (recoverable for 30 days).`;
  return undefined;
}
