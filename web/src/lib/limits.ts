// How a refusal for a per-user limit (HTTP 429) reads to a person.

const UNITS: readonly [number, string][] = [
  [86_400, "day"],
  [3_600, "hour"],
  [60, "minute"],
  [1, "second"],
];

/**
 * waitInWords renders a wait in seconds in words, in its largest two units:
 * 1 → "1 second", 12 → "12 seconds", 90 → "1 minute and 30 seconds",
 * 7260 → "2 hours and 1 minute". Seconds are rounded up: saying less than
 * the server asked would send people back too early.
 */
export function waitInWords(seconds: number): string {
  let s = Math.max(1, Math.ceil(seconds));
  const parts: string[] = [];
  for (const [size, unit] of UNITS) {
    if (parts.length === 2) break;
    const n = Math.floor(s / size);
    if (n > 0) {
      parts.push(`${n} ${unit}${n === 1 ? "" : "s"}`);
      s -= n * size;
    } else if (parts.length) break; // "1 hour and 5 seconds" reads oddly: stop at a zero
  }
  return parts.join(" and ");
}

/**
 * parseRetryAfter reads a Retry-After header (RFC 9110: delay-seconds or an
 * HTTP date) as seconds from now; undefined when absent or unreadable.
 */
export function parseRetryAfter(header: string | null | undefined, now = Date.now()): number | undefined {
  const v = header?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  // An HTTP date names its day and month; Date.parse alone would take "-5" for a year.
  if (!/[a-z]{3}/i.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

// The server's own "…; try again in 12s" tail: replaced by the wait from
// Retry-After, in words.
const TRY_AGAIN = /[\s;,.:]*(?:please\s+)?try again in\b[^;.]*\.?\s*$/i;

function sentence(s: string): string {
  const t = s.trim().replace(/[\s;,:]+$/, "");
  if (!t) return t;
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/**
 * limitMessage is the sentence for a 429: the server's detail, led by
 * "Slow down:" when waiting helps (a Retry-After came) or "Limit reached:"
 * when it alone will not (finish or delete something first), and the wait
 * in words: "Slow down: you may start at most 600 tasks a minute. Try again
 * in 12 seconds."
 */
export function limitMessage(detail: string | undefined, retryAfter: number | undefined): string {
  const waits = retryAfter !== undefined;
  let d = (detail ?? "").trim();
  if (waits) d = d.replace(TRY_AGAIN, "");
  d = d.replace(/[\s;,:.]+$/, "");
  if (!d) d = waits ? "too many requests" : "you have reached a limit on what you may do at once";
  const lead = waits ? "Slow down" : "Limit reached";
  const body = sentence(`${lead}: ${d}`);
  if (!waits) return body;
  return retryAfter > 0 ? `${body} Try again in ${waitInWords(retryAfter)}.` : `${body} Try again in a moment.`;
}
