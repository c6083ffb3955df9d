import { ApiError, problemError } from "../api/client";
import { limitMessage, parseRetryAfter, waitInWords } from "./limits";

describe("waitInWords", () => {
  it.each([
    [0, "1 second"],
    [1, "1 second"],
    [0.2, "1 second"],
    [12, "12 seconds"],
    [59.1, "1 minute"],
    [60, "1 minute"],
    [90, "1 minute and 30 seconds"],
    [600, "10 minutes"],
    [3600, "1 hour"],
    [3605, "1 hour"],
    [7260, "2 hours and 1 minute"],
    [90_000, "1 day and 1 hour"],
  ])("%s s is %s", (s, words) => {
    expect(waitInWords(s)).toBe(words);
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds", () => {
    expect(parseRetryAfter("12")).toBe(12);
    expect(parseRetryAfter(" 0 ")).toBe(0);
  });
  it("reads an HTTP date as seconds from now", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now)).toBe(30);
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now)).toBe(0);
  });
  it("ignores what is absent or unreadable", () => {
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter("")).toBeUndefined();
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter("-5")).toBeUndefined();
  });
});

describe("limitMessage", () => {
  it("says to slow down, with the wait in words instead of the server's", () => {
    expect(limitMessage("you may start at most 600 tasks a minute; try again in 12s", 12)).toBe(
      "Slow down: you may start at most 600 tasks a minute. Try again in 12 seconds.",
    );
  });
  it("keeps the server's detail when it names no wait", () => {
    expect(
      limitMessage("too many open event streams: at most 10 per user; close one (or reuse one stream) and retry", 5),
    ).toBe(
      "Slow down: too many open event streams: at most 10 per user; close one (or reuse one stream) and retry. Try again in 5 seconds.",
    );
  });
  it("says a limit was reached when waiting alone will not help", () => {
    expect(limitMessage("you have 20 schedules, the most allowed; delete one first", undefined)).toBe(
      "Limit reached: you have 20 schedules, the most allowed; delete one first.",
    );
  });
  it("keeps a detail's try-again when there is no Retry-After to replace it", () => {
    expect(limitMessage("you may start at most 6 tasks a minute; try again in 1m", undefined)).toBe(
      "Limit reached: you may start at most 6 tasks a minute; try again in 1m.",
    );
  });
  it("has a sentence without a detail", () => {
    expect(limitMessage(undefined, 90)).toBe("Slow down: too many requests. Try again in 1 minute and 30 seconds.");
    expect(limitMessage("", 0)).toBe("Slow down: too many requests. Try again in a moment.");
    expect(limitMessage(undefined, undefined)).toBe(
      "Limit reached: you have reached a limit on what you may do at once.",
    );
  });
});

describe("problemError", () => {
  const problem = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/problem+json", ...headers } });

  it("turns a 429 into the sentence and keeps the wait", () => {
    const err = problemError(
      problem(429, {}, { "Retry-After": "12" }),
      { title: "Too Many Requests", status: 429, detail: "you may start at most 600 tasks a minute; try again in 12s" },
    );
    expect(err).toBeInstanceOf(ApiError);
    expect(err.limited).toBe(true);
    expect(err.retryAfter).toBe(12);
    expect(err.message).toBe("Slow down: you may start at most 600 tasks a minute. Try again in 12 seconds.");
  });
  it("leaves other problems as the server's detail", () => {
    const err = problemError(problem(409, {}), { title: "Conflict", status: 409, detail: "no Google OAuth client" });
    expect(err.limited).toBe(false);
    expect(err.retryAfter).toBeUndefined();
    expect(err.message).toBe("no Google OAuth client");
  });
});
