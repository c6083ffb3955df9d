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

// A description longer than this is cut: the banner is a sentence, not a page.
const MAX_DESCRIPTION = 400;

/**
 * consentOutcome reads the callback's query parameters: connected wins; an
 * error says the description the server gave, else a sentence for its code.
 */
export function consentOutcome(search: URLSearchParams): ConsentOutcome {
  const connected = search.get("connected")?.trim();
  if (connected) return { ok: true, message: `Connected ${connected}. Its mail can now be synced and sorted here.` };
  const code = search.get("error")?.trim();
  if (code === undefined) return null;
  const description = search.get("error_description")?.trim();
  if (description) {
    return {
      ok: false,
      message: description.length > MAX_DESCRIPTION ? `${description.slice(0, MAX_DESCRIPTION - 1)}…` : description,
    };
  }
  const known = Object.hasOwn(MESSAGES, code) ? MESSAGES[code] : undefined;
  return {
    ok: false,
    message:
      known ??
      `The mailbox was not connected (Google said ${code ? `“${code}”` : "no more"}). Start the connection again.`,
  };
}

/** connectError says why Connect failed, as a sentence. */
export function connectError(err: unknown): string {
  const msg = (err instanceof Error ? err.message : String(err)).trim().replace(/[.\s]+$/, "");
  if (err instanceof ApiError && err.limited) return err.message;
  // 409: the server has no Google OAuth client (demo mode): nothing to connect.
  if (err instanceof ApiError && err.status === 409) return `This server cannot connect Gmail accounts: ${msg}.`;
  return `Cannot connect a Gmail account: ${msg}.`;
}
