import { expect, test, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";

// Gmail flows against the demo mailbox (demo mode: the server's built-in
// fake Gmail, E2E_DEMO_MESSAGES messages, see serve.sh). They sign in as
// the demo user, whose account demo@inboxq.example is already connected,
// and run in order: the sync fills the local store that the bulk
// operations select from, and the second sync (the one cancelled) needs
// the first to have finished (one sync per account in flight).

test.describe.configure({ mode: "serial" });

const SHOTS = new URL("../screenshots/", import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });
const MAILBOX = "demo@inboxq.example";

function demoToken(): string {
  const t = process.env.E2E_DEMO_TOKEN;
  if (!t) throw new Error("E2E_DEMO_TOKEN is not set: global-setup did not find the demo token");
  return t;
}

async function shot(page: Page, name: string) {
  // Transitions finished: the progress bar's width animates.
  await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true, animations: "disabled" });
}

const badge = (page: Page) => page.locator(".page-head .badge");
const progressBar = (page: Page) => page.getByRole("progressbar", { name: "Task progress" });

type Seen = { state: string; value: string | null };
type Watched = Window & { __seen?: Seen[]; __sameDocument?: boolean };

/**
 * watch signs in as the demo user and records, in the page, every change
 * of the task detail's state badge and progress value (a MutationObserver,
 * so no intermediate value is missed between two polls of the test).
 */
async function watch(page: Page) {
  await page.addInitScript((t) => {
    localStorage.setItem("inboxq.token", t);
    const w = window as Watched;
    const seen: Seen[] = (w.__seen = []);
    const record = () => {
      const bar = document.querySelector('[role="progressbar"][aria-label="Task progress"]');
      const state = document.querySelector(".page-head .badge")?.textContent ?? "";
      if (!bar) return;
      const value = bar.getAttribute("aria-valuenow");
      const last = seen[seen.length - 1];
      if (!last || last.state !== state || last.value !== value) seen.push({ state, value });
    };
    new MutationObserver(record).observe(document, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
      attributeFilter: ["aria-valuenow"],
    });
  }, demoToken());
}

const seen = (page: Page) => page.evaluate(() => (window as Watched).__seen ?? []);

/** startWork fills Start work for a Gmail kind on the demo account and starts it; returns the task id. */
async function startWork(page: Page, kind: string, fill?: () => Promise<void>): Promise<number> {
  await page.goto("/start");
  await page.getByLabel("Kind").selectOption(kind);
  const account = page.getByLabel("Gmail account");
  await expect(account.getByRole("option", { name: MAILBOX })).toBeAttached();
  await account.selectOption({ label: MAILBOX });
  await fill?.();
  // Anything after this must happen without a page load.
  await page.evaluate(() => ((window as Watched).__sameDocument = true));
  await page.getByRole("button", { name: "Start", exact: true }).click();
  await expect(page).toHaveURL(/\/tasks\/\d+$/); // not ?duplicate=1: a new task
  // The task opens at its top (state and buttons in view), however far
  // down the form the Start button was.
  expect(await page.evaluate(() => window.scrollY)).toBe(0);
  return Number(new URL(page.url()).pathname.split("/").pop());
}

const sameDocument = (page: Page) => page.evaluate(() => (window as Watched).__sameDocument === true);

test("a full sync of the demo mailbox shows its progress moving, then completed", async ({ page }) => {
  await watch(page);
  await startWork(page, "sync_user_emails");

  // Caught mid-way: 0 < aria-valuenow < 100, while running.
  await expect
    .poll(async () => Number((await progressBar(page).getAttribute("aria-valuenow")) ?? "0"), { timeout: 15_000, intervals: [50] })
    .toBeGreaterThan(0);
  await expect(badge(page)).toHaveText("running");
  await expect(page.locator(".progress-detail")).toContainText("fetching");
  await shot(page, "sync-progress");

  await expect(badge(page)).toHaveText("completed", { timeout: 20_000 });
  await expect(progressBar(page)).toHaveAttribute("aria-valuenow", "100");
  await expect(page.getByLabel("Result")).toContainText('"messages"');
  expect(await sameDocument(page)).toBe(true);

  const values = (await seen(page)).map((s) => Number(s.value ?? "NaN"));
  test.info().annotations.push({ type: "aria-valuenow", description: values.join(" ") });
  const mid = values.findIndex((v) => v > 0 && v < 100);
  expect(mid, `values seen: ${values.join(", ")}`).toBeGreaterThanOrEqual(0);
  expect(values.indexOf(100), `values seen: ${values.join(", ")}`).toBeGreaterThan(mid);
  // Progress only moves forward.
  const numbers = values.filter((v) => !Number.isNaN(v));
  expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
});

test("a second full sync is cancelled while it runs", async ({ page }) => {
  await watch(page);
  await startWork(page, "sync_user_emails");
  await expect
    .poll(async () => Number((await progressBar(page).getAttribute("aria-valuenow")) ?? "0"), { timeout: 15_000, intervals: [50] })
    .toBeGreaterThan(0);
  await expect(badge(page)).toHaveText("running");

  await page.getByRole("button", { name: "Cancel task" }).click();
  // cancelling lasts until the worker reaches its next page: often too
  // short to assert on, so it is only reported when seen.
  await expect(badge(page)).toHaveText("cancelled", { timeout: 10_000 });
  await expect(page.getByRole("button", { name: "Cancel task" })).toBeDisabled();
  await expect(page.getByText("Finished: cancelled")).toBeVisible();
  // It says where it stopped, not what it was doing.
  await expect(page.locator(".progress-detail")).toContainText(/^cancelled while fetching · at page \d+$/);
  const left = Number(await progressBar(page).getAttribute("aria-valuenow"));
  expect(left).toBeGreaterThan(0);
  expect(left).toBeLessThan(100);
  expect(await sameDocument(page)).toBe(true);

  const states = (await seen(page)).map((s) => s.state).filter((s, i, a) => s !== a[i - 1]);
  test.info().annotations.push({ type: "states", description: states.join(" → ") });
  expect(states).toContain("running");
  expect(states[states.length - 1]).toBe("cancelled");
  expect(states).not.toContain("completed");
  const cancelling = states.indexOf("cancelling");
  if (cancelling >= 0) expect(cancelling).toBeLessThan(states.indexOf("cancelled"));
});

test("a permanent delete the account cannot do is refused beside Start, and by the API with a 422", async ({ page, request }) => {
  await page.addInitScript((t) => localStorage.setItem("inboxq.token", t), demoToken());
  await page.goto("/start");
  await page.getByLabel("Kind").selectOption("bulk_delete_emails");
  const account = page.getByLabel("Gmail account");
  await expect(account.getByRole("option", { name: MAILBOX })).toBeAttached();
  await account.selectOption({ label: MAILBOX });
  const label = page.getByLabel("Label", { exact: true });
  await expect(label.locator('option[value="CATEGORY_PROMOTIONS"]')).toBeAttached();
  await label.selectOption("CATEGORY_PROMOTIONS");
  await page.getByLabel("Delete permanently").check();
  await page.getByLabel("Confirmation").fill("delete permanently");
  const start = page.getByRole("button", { name: "Start", exact: true });
  const why = page.locator("#start-refused");
  await expect(why).toHaveText(new RegExp(`^${MAILBOX} did not grant full access, which deleting permanently needs\\.`));
  await expect(start).toBeDisabled();
  await expect(start).toHaveAttribute("aria-describedby", "start-refused");
  expect(await why.evaluate((el, b) => el.parentElement === b?.parentElement, await start.elementHandle())).toBe(true);
  await shot(page, "delete-refused");
  // Untick it: a trash can start.
  await page.getByLabel("Delete permanently").uncheck();
  await expect(why).toHaveCount(0);

  // The API refuses the same before any task exists.
  const accounts = (await (await request.get("/api/v1/accounts", { headers: { Authorization: `Bearer ${demoToken()}` } })).json()) as {
    accounts: { id: number; email: string }[];
  };
  const id = accounts.accounts.find((a) => a.email === MAILBOX)?.id;
  const res = await request.post("/api/v1/tasks", {
    headers: { Authorization: `Bearer ${demoToken()}` },
    data: { kind: "bulk_delete_emails", args: { account_id: id, target: { label: "CATEGORY_PROMOTIONS" }, permanent: true, confirm: "delete permanently" } },
  });
  expect(res.status()).toBe(422);
  expect(res.headers()["content-type"]).toContain("application/problem+json");
  const problem = (await res.json()) as { errors?: { location: string; message: string }[] };
  expect(problem.errors?.[0]?.location).toBe("body.args.permanent");
  expect(problem.errors?.[0]?.message).toContain("permanent deletion needs full access to the mailbox");
});

test("archives the promotions in bulk and reports messages and batch calls", async ({ page }) => {
  await watch(page);
  let previewed = 0;
  await startWork(page, "bulk_archive_emails", async () => {
    const label = page.getByLabel("Label", { exact: true });
    await expect(label.locator('option[value="CATEGORY_PROMOTIONS"]')).toBeAttached();
    await label.selectOption("CATEGORY_PROMOTIONS");
    // The preview counts what the target selects in the synced store, and
    // Start waits for the confirmation of that count.
    const status = page.locator("#preview-count");
    await expect(status).toHaveText(/^This will archive [\d,]+ messages?\.$/);
    previewed = Number(/([\d,]+)/.exec((await status.textContent()) ?? "")?.[1]?.replace(/,/g, ""));
    expect(previewed).toBeGreaterThan(0);
    await expect(page.getByRole("button", { name: "Start", exact: true })).toBeDisabled();
    await page.getByLabel("I understand").check();
    await expect(page.getByRole("button", { name: "Start", exact: true })).toBeEnabled();
  });

  await expect(badge(page)).toHaveText("completed", { timeout: 15_000 });
  await expect(progressBar(page)).toHaveAttribute("aria-valuenow", "100");
  const result = page.getByLabel("Result");
  await expect(result).toContainText('"batch_calls"');
  const out = JSON.parse((await result.textContent()) ?? "{}") as { messages?: number; batch_calls?: number };
  expect(out.messages).toBeGreaterThan(0);
  expect(out.messages).toBe(previewed);
  expect(out.batch_calls).toBe(Math.ceil((out.messages ?? 0) / 1000));
  const n = (v: number | undefined, noun: string) => `${(v ?? 0).toLocaleString("en-US")} ${v === 1 ? noun : `${noun}s`}`;
  await expect(page.locator(".progress-detail")).toContainText(`${n(out.messages, "message")} in ${n(out.batch_calls, "call")}`);
  expect(await sameDocument(page)).toBe(true);
  await shot(page, "bulk-archive");
});

test("exports my data and downloads the archive", async ({ page }) => {
  await page.addInitScript((t) => localStorage.setItem("inboxq.token", t), demoToken());
  await page.goto("/exports");
  await page.getByRole("button", { name: "Export my data" }).click();
  // The export task writes the archive; the list reloads until it shows.
  const download = page.getByRole("button", { name: /^Download/ }).first();
  await expect(download).toBeVisible({ timeout: 20_000 });
  const [file] = await Promise.all([page.waitForEvent("download"), download.click()]);
  expect(file.suggestedFilename()).toMatch(/\.tar\.gz$/);
  await shot(page, "exports");
});
