import { expect, test, type Page } from "@playwright/test";

// Refusals for per-user limits (429 problem+json with Retry-After), made
// here with page.route: reaching the real limits would take 600 tasks a
// minute. The point is how the dashboard says it.

function userToken(): string {
  const t = process.env.E2E_USER_TOKEN;
  if (!t) throw new Error("E2E_USER_TOKEN is not set: global-setup did not run");
  return t;
}

async function signedIn(page: Page) {
  await page.addInitScript((t) => localStorage.setItem("inboxq.token", t), userToken());
}

function tooMany(detail: string, retryAfter?: number) {
  const headers: Record<string, string> = retryAfter === undefined ? {} : { "Retry-After": String(retryAfter) };
  return {
    status: 429,
    contentType: "application/problem+json",
    headers,
    body: JSON.stringify({ title: "Too Many Requests", status: 429, detail }),
  };
}

test("starting too fast says so beside Start, with the wait", async ({ page }) => {
  await signedIn(page);
  await page.route("**/api/v1/tasks", (route) =>
    route.request().method() === "POST"
      ? route.fulfill(tooMany("you may start at most 600 tasks a minute; try again in 12s", 12))
      : route.fallback(),
  );
  await page.goto("/start");
  await page.getByLabel("Kind").selectOption("export_user_data");
  const start = page.getByRole("button", { name: "Start", exact: true });
  await start.click();
  const actions = page.locator("form .actions");
  await expect(actions.getByRole("alert")).toHaveText(
    "Slow down: you may start at most 600 tasks a minute. Try again in 12 seconds.",
  );
  await expect(actions).toContainText("Start");
  await expect(page).toHaveURL(/\/start$/);
  await expect(start).toBeEnabled();
});

test("too many schedules says so beside Create schedule", async ({ page }) => {
  await signedIn(page);
  await page.route("**/api/v1/schedules", (route) =>
    route.request().method() === "POST"
      ? route.fulfill(tooMany("you have 20 schedules, the most allowed; delete one first"))
      : route.fallback(),
  );
  await page.goto("/schedules");
  await page.getByRole("button", { name: "New schedule" }).click();
  await page.getByLabel("Name").fill("limited");
  await page.getByLabel("Kind").selectOption("export_user_data");
  await page.getByLabel("Cron").fill("0 3 * * *");
  await page.getByRole("button", { name: "Create schedule" }).click();
  await expect(page.locator("form .actions").getByRole("alert")).toHaveText(
    "Limit reached: you have 20 schedules, the most allowed; delete one first.",
  );
});

test("an event stream refused with 429 waits out Retry-After instead of reconnecting at once", async ({ page }) => {
  await signedIn(page);
  const attempts: number[] = [];
  await page.route(
    (url) => url.pathname === "/api/v1/events",
    (route) => {
      attempts.push(Date.now());
      return route.fulfill(tooMany("too many open event streams: at most 10 per user; close one (or reuse one stream) and retry", 5));
    },
  );
  await page.goto("/");
  await expect(page.locator(".topbar .live")).toHaveText("Reconnecting…");
  // The first try and the probe that asks why it failed; the next try waits 5 s.
  await expect.poll(() => attempts.length).toBeGreaterThanOrEqual(2);
  const first = attempts[0] ?? 0;
  await expect.poll(() => attempts.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
  const gaps = attempts.slice(1).map((t) => t - first);
  expect(gaps[0]).toBeLessThan(4_000); // the probe, at once
  expect(gaps[1]).toBeGreaterThanOrEqual(4_900); // the retry, after Retry-After
});
