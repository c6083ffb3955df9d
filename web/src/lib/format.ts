// Formatting of times, durations and rates for people.

/** duration renders seconds as "45 s", "3 min 5 s", "2 h 10 min", "3 d 4 h". */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** roughly renders seconds in its largest unit or two: "45 s", "3 min", "2 h 10 min", "3 d". */
export function roughly(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return duration(Math.floor(s / 60) * 60);
  return `${Math.floor(s / 86400)} d`;
}

/** ago renders a past time relative to now: "12 s ago"; a future one: "in 5 min". */
export function ago(iso: string | undefined, now: number): string {
  if (!iso) return "–";
  const diff = (now - Date.parse(iso)) / 1000;
  if (Math.abs(diff) < 1) return "just now";
  return diff >= 0 ? `${roughly(diff)} ago` : `in ${roughly(-diff)}`;
}

/** dateTime renders an absolute local time. */
export function dateTime(iso: string | undefined): string {
  if (!iso) return "–";
  return new Date(iso).toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/** rate renders items per second. */
export function rate(perSecond: number | undefined): string {
  if (!perSecond) return "–";
  if (perSecond >= 100) return `${Math.round(perSecond)}/s`;
  if (perSecond >= 1) return `${perSecond.toFixed(1)}/s`;
  return `${(perSecond * 60).toFixed(1)}/min`;
}

/** count renders a number with the reader's thousands separators: "3,000". */
export function count(n: number): string {
  return n.toLocaleString();
}

/** plural renders a count with its noun: "1 call", "2,809 messages" (plural: noun + "s" unless given). */
export function plural(n: number, noun: string, many = `${noun}s`): string {
  return `${count(n)} ${n === 1 ? noun : many}`;
}

/** toLocalInput renders a Date for an <input type="datetime-local">. */
export function toLocalInput(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * shortDate renders when mail arrived as a mail client does: the time for
 * today, the day and month for this year, else the date with its year.
 */
export function shortDate(iso: string, now: number): string {
  const d = new Date(iso);
  const today = new Date(now);
  if (d.toDateString() === today.toDateString()) return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  if (d.getFullYear() === today.getFullYear()) return d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  return d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}
