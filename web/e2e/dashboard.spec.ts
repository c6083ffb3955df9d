import { expect, test, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";

// The dashboard against the real server: every test signs in with the
// token global-setup minted, except the sign-in test itself.

const SHOTS = new URL("../screenshots/", import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });

function adminToken(): string {
  const t = process.env.E2E_TOKEN;
  if (!t) throw new Error("E2E_TOKEN is not set: global-setup did not run");
  return t;
}

async function signedIn(page: Page, token = adminToken()) {
  await page.addInitScript((t) => localStorage.setItem("inboxq.token", t), token);
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
}

function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

const badge = (page: Page) => page.locator(".page-head .badge");

test("signs in with an API token and out again", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "inboxq" })).toBeVisible();
  await shot(page, "signin");

  await page.getByLabel("API token").fill("iq_not-a-real-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("not valid");

  await page.getByLabel("API token").fill(adminToken());
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Tasks", level: 1 })).toBeVisible();
  await expect(page.locator(".topbar .live")).toHaveText("Live");

  await page.reload(); // the token is remembered
  await expect(page.getByRole("heading", { name: "Tasks", level: 1 })).toBeVisible();

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByLabel("API token")).toBeVisible();
});

// monitor_system_health allows one task a minute, and the built-in schedule
// starts one when the server starts: Start work then shows that task
// ("nothing new was started") unless the minute has turned. Either way the
// page must reach completed by itself; the retry test below always sees
// the live transitions.
test("starts monitor_system_health and sees it completed without a reload", async ({ page }) => {
  await signedIn(page);
  await page.goto("/start");
  await page.getByLabel("Kind").selectOption("monitor_system_health");
  await expect(page.getByText("This kind takes no arguments.")).toBeVisible();
  await shot(page, "start-work");
  await page.getByRole("button", { name: "Start", exact: true }).click();

  await expect(page).toHaveURL(/\/tasks\/\d+/);
  await expect(badge(page)).toHaveText("completed", { timeout: 20_000 });
  await expect(page.getByRole("progressbar", { name: "Task progress" })).toHaveAttribute("aria-valuenow", "100");
  await expect(page.getByText("db_latency_us")).toBeVisible(); // the result
  await shot(page, "task-detail");
});

test("a task set to run later can be cancelled, then retried to completion", async ({ page }) => {
  await signedIn(page);
  await page.goto("/start");
  await page.getByLabel("Kind").selectOption("monitor_system_health");
  await page.getByLabel("Run at").fill(localInput(new Date(Date.now() + 3 * 3600_000)));
  await page.getByRole("button", { name: "Start", exact: true }).click();

  await expect(page).toHaveURL(/\/tasks\/\d+$/);
  const id = new URL(page.url()).pathname.split("/").pop() ?? "";
  await expect(badge(page)).toHaveText("scheduled");
  await expect(page.getByText("Runs at")).toBeVisible();

  await page.getByRole("button", { name: "Cancel task" }).click();
  await expect(badge(page)).toHaveText("cancelled");
  await expect(page.getByRole("button", { name: "Cancel task" })).toBeDisabled();

  // The list shows it too, live, with its state.
  await page.getByRole("link", { name: "Tasks", exact: true }).first().click();
  const row = page.locator(`tr[data-task-id="${id}"]`);
  // A health check is a system task: shown once asked for.
  await page.getByLabel("Show system tasks").check();
  await expect(row.locator(".badge")).toHaveText("cancelled");
  await shot(page, "tasks");

  await row.getByRole("link").click();
  await page.getByRole("button", { name: "Retry task" }).click();
  // Retried, it runs now; the stream brings it to completed without a reload.
  await expect(badge(page)).toHaveText("completed", { timeout: 20_000 });
});

test("selects tasks in the list and cancels them together", async ({ page, request }) => {
  const later = new Date(Date.now() + 5 * 3600_000).toISOString();
  const res = await request.post("/api/v1/tasks", {
    headers: { Authorization: `Bearer ${adminToken()}` },
    data: { kind: "cleanup_expired_tokens", run_at: later },
  });
  expect(res.ok()).toBeTruthy();
  const { id } = (await res.json()) as { id: number };

  await signedIn(page);
  await page.goto("/?state=scheduled&system=1");
  const row = page.locator(`tr[data-task-id="${id}"]`);
  await expect(row.locator(".badge")).toHaveText("scheduled");
  await row.getByRole("checkbox").check();
  await expect(page.getByText("1 selected")).toBeVisible();
  await page.getByRole("button", { name: "Cancel selected" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Cancelled 1 task." })).toBeVisible();
  await expect(row.locator(".badge")).toHaveText("cancelled");

  // A task created elsewhere appears in the list without a reload.
  const other = await request.post("/api/v1/tasks", {
    headers: { Authorization: `Bearer ${adminToken()}` },
    data: { kind: "monitor_system_health", run_at: later },
  });
  expect(other.status()).toBe(201);
  const { id: otherId } = (await other.json()) as { id: number };
  await expect(page.locator(`tr[data-task-id="${otherId}"] .badge`)).toHaveText("scheduled");
});

test("an admin pauses and resumes a queue", async ({ page }) => {
  await signedIn(page);
  await page.goto("/operators");
  const row = page.locator('tr[data-queue="default"]');
  await expect(row).toBeVisible();
  await row.getByRole("button", { name: "Pause queue default" }).click();
  await expect(row.getByText("paused")).toBeVisible();
  await expect(row.getByRole("button", { name: "Resume queue default" })).toBeVisible();

  // The throughput chart is drawn (uPlot on a canvas).
  const painted = await page.locator(".chart canvas").first().evaluate((c) => {
    const canvas = c as HTMLCanvasElement;
    const data = canvas.getContext("2d")?.getImageData(0, 0, canvas.width, canvas.height).data ?? [];
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if ((data[i] ?? 0) > 0) n++;
    return n;
  });
  expect(painted).toBeGreaterThan(100);
  await expect(page.getByRole("link", { name: /Open River UI/ })).toHaveAttribute("href", "/riverui/");
  await shot(page, "operators");

  await row.getByRole("button", { name: "Resume queue default" }).click();
  await expect(row.getByRole("button", { name: "Pause queue default" })).toBeVisible();
  await expect(row.getByText("paused")).toHaveCount(0);
});

test("creates, disables and deletes a schedule", async ({ page }) => {
  await signedIn(page);
  await page.goto("/schedules");
  await page.getByRole("button", { name: "New schedule" }).click();
  await page.getByLabel("Name").fill("e2e nightly health");
  await page.getByLabel("Kind").selectOption("monitor_system_health");
  await page.getByLabel("Cron").fill("not a cron");
  await page.getByLabel("Time zone").fill("UTC");
  await page.getByRole("button", { name: "Create schedule" }).click();
  // The server's field error appears beside the field.
  await expect(page.getByLabel("Cron")).toHaveAttribute("aria-invalid", "true");

  await page.getByLabel("Cron").fill("0 3 * * *");
  await page.getByRole("button", { name: "Create schedule" }).click();
  const row = page.locator('tr[data-schedule="e2e nightly health"]');
  await expect(row).toBeVisible();
  await expect(row.locator("time")).toContainText("in ");
  await shot(page, "schedules");

  await row.getByRole("switch").uncheck();
  await expect(row.getByText("paused")).toBeVisible();
  await row.getByRole("button", { name: "Delete e2e nightly health" }).click();
  await row.getByRole("button", { name: "Delete e2e nightly health?" }).click();
  await expect(row).toHaveCount(0);
});

test("shows the alerts page", async ({ page }) => {
  await signedIn(page);
  await page.goto("/");
  await page.getByRole("link", { name: /^Alerts/ }).click();
  await expect(page.getByRole("heading", { name: "Alerts", level: 1 })).toBeVisible();
  await expect(page.locator("ul.alerts, p.empty")).toBeVisible();
  await shot(page, "alerts");
});

test("a user who is not an admin gets no operator page", async ({ page }) => {
  const token = process.env.E2E_USER_TOKEN ?? "";
  await signedIn(page, token);
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Tasks", level: 1 })).toBeVisible();
  await expect(page.getByRole("link", { name: "Start work" }).first()).toBeVisible();
  await expect(page.getByRole("navigation").getByRole("link", { name: "Operators" })).toHaveCount(0);
  await page.goto("/start");
  await expect(page.getByRole("option", { name: "Check system health (admins)" })).toBeDisabled();
});

test("works on a narrow screen", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signedIn(page);
  await page.goto("/?system=1"); // this admin has only system tasks
  await expect(page.locator("table.tasks tbody tr").first()).toBeVisible();
  await expect(page.getByRole("link", { name: "Operators" })).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await shot(page, "tasks-narrow");
});

test("while the server is out of reach, a task shows what was last heard and offers no action", async ({ page, request }) => {
  const later = new Date(Date.now() + 3_600_000).toISOString();
  const res = await request.post("/api/v1/tasks", {
    headers: { Authorization: `Bearer ${adminToken()}` },
    data: { kind: "cleanup_expired_tokens", run_at: later },
  });
  expect(res.status()).toBe(201);
  const { id } = (await res.json()) as { id: number };
  await signedIn(page);
  // The task's event stream cannot be reached: the page must not pretend.
  await page.route(`**/api/v1/tasks/${id}/events**`, (route) => route.abort("connectionrefused"));
  await page.goto(`/tasks/${id}`);
  await expect(badge(page)).toHaveText("scheduled");
  await expect(page.getByText("Reconnecting…")).toBeVisible();
  await expect(page.getByRole("button", { name: "Cancel task" })).toBeDisabled();
  await expect(page.getByText("this is the task as last heard of")).toBeVisible();

  await page.unroute(`**/api/v1/tasks/${id}/events**`);
  await expect(page.getByRole("button", { name: "Cancel task" })).toBeEnabled({ timeout: 30_000 });
});
