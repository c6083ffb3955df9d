// How a Gmail connection ended, as the OAuth callback tells the dashboard:
// /accounts?connected=EMAIL, or /accounts?error=CODE&error_description=MESSAGE.
import { ApiError } from "../api/client";

/** ConsentOutcome is what the banner on Accounts says, or null for nothing. */
export type ConsentOutcome = { ok: boolean; message: string } | null;

/** CONSENT_PARAMS are the query parameters the callback sets; dismissing the banner removes them. */
export const CONSENT_PARAMS = ["connected", "error", "error_description"] as const;

const MESSAGES: Record<string, string> = {
  consent_other_browser:
    "This mailbox connection was started in another browser or by someone else, so it was refused. " +
    "Start the connection again here, in this browser.",
  consent_expired:
    "This mailbox connection link expired or was already used, so nothing was connected. Start the connection again.",
  consent_refused: "Google did not complete the mailbox connection, so nothing was connected. Start the connection again.",
  access_denied:
    "Access was not granted on Google's page, so nothing was connected. To connect the mailbox, start again and allow access.",
};

/**
 * consentOutcome reads the callback's query parameters: connected wins; an
 * error gets the dashboard's own sentence for its code. The server's
 * error_description is never shown: anyone can put text in a link to this
 * page, and a banner must not say what a stranger wrote.
 */
export function consentOutcome(search: URLSearchParams): ConsentOutcome {
  const connected = search.get("connected")?.trim();
  if (connected) {
    const who = /^[^\s<>]{1,254}$/.test(connected) ? connected : "the mailbox";
    return { ok: true, message: `Connected ${who}. Its mail can now be synced and sorted here.` };
  }
  const code = search.get("error")?.trim();
  if (code === undefined) return null;
  const known = Object.hasOwn(MESSAGES, code) ? MESSAGES[code] : undefined;
  const shown = /^[A-Za-z_]{1,40}$/.test(code) ? ` (Google said “${code}”)` : "";
  return { ok: false, message: known ?? `The mailbox was not connected${shown}. Start the connection again.` };
}

/** connectError says why Connect failed, as a sentence. */
export function connectError(err: unknown): string {
  const msg = (err instanceof Error ? err.message : String(err)).trim().replace(/[.\s]+$/, "");
  if (err instanceof ApiError && err.limited) return err.message;
  // 409: the server has no Google OAuth client (demo mode): nothing to connect.
  if (err instanceof ApiError && err.status === 409) return `This server cannot connect Gmail accounts: ${msg}.`;
  return `Cannot connect a Gmail account: ${msg}.`;
}
