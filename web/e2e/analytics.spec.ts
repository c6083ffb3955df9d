import { expect, test, type APIRequestContext } from "@playwright/test";
import { token } from "./global-setup";

// The Analytics page against the real server in demo mode: a new user
// connects a generated mailbox, syncs it, and after update_analytics the
// page shows what a direct count over the API says. An admin also sees the
// system section; a person does not, and the system endpoint refuses them.

test.describe.configure({ mode: "serial" });

const USER = `ana${Date.now()}`;
const ADDRESS = "ana@inboxq.example";
let userToken = "";

const as = (t: string) => ({ Authorization: `Bearer ${t}` });
type Counts = { categories: { category: string; messages: number; unread: number }[]; total: number };

async function get<T>(request: APIRequestContext, path: string, t: string): Promise<T> {
  const res = await request.get(path, { headers: as(t) });
  expect(res.status(), `GET ${path}`).toBe(200);
  return (await res.json()) as T;
}

function adminToken(): string {
  const t = process.env.E2E_TOKEN;
  if (!t) throw new Error("E2E_TOKEN is not set: global-setup did not run");
  return t;
}

test("a person's analytics match their synced, classified mail", async ({ page, request }) => {
  test.setTimeout(150_000);
  userToken = token(USER, false);
  await page.addInitScript((t) => localStorage.setItem("inboxq.token", t), userToken);

  // Connect and sync a mailbox, as inbox.spec does.
  await page.goto("/accounts");
  await page.getByRole("button", { name: "Connect a Gmail account" }).click();
  await page.getByLabel("Gmail address").fill(ADDRESS);
  await page.getByRole("button", { name: "Allow" }).click();
  await expect(page.locator(".banner.good")).toContainText(`Connected ${ADDRESS}.`);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Inbox" }).click();
  await page.getByRole("button", { name: "Sync now" }).click();
  await expect(page.locator('nav[aria-label="Categories"] a[data-shelf="unclassified"]')).toHaveCount(0, { timeout: 90_000 });
  await expect(page.locator('nav[aria-label="Categories"]')).toBeVisible();
  const counts = await get<Counts>(request, "/api/v1/messages/counts", userToken);
  expect(counts.total).toBeGreaterThan(0);

  // The system analytics are for admins only.
  expect((await request.get("/api/v1/analytics/system", { headers: as(userToken) })).status()).toBe(403);

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Analytics" }).click();
  await expect(page.getByRole("heading", { name: "Analytics", level: 1 })).toBeVisible();
  await page.getByLabel("Range").selectOption("365");
  // Hourly by default; start it now and wait for the page to catch up.
  await page.getByRole("button", { name: "Update now" }).click();
  await expect(page.getByText("Update started.")).toBeVisible();
  await expect(async () => {
    await page.reload();
    await page.getByLabel("Range").selectOption("365");
    await expect(page.getByTestId("messages")).toHaveText(counts.total.toLocaleString("en-US"), { timeout: 2_000 });
  }).toPass({ timeout: 60_000 });
  await expect(page.getByTestId("coverage")).toContainText("100 %");
  const unread = counts.categories.reduce((n, c) => n + c.unread, 0);
  await expect(page.getByTestId("unread")).toHaveText(unread.toLocaleString("en-US"));
  await expect(page.getByTestId("last-sync")).toContainText(ADDRESS);
  await expect(page.getByTestId("last-sync")).toContainText("ago");
  await expect(page.locator(".chart-canvas canvas").first()).toBeVisible();
  await expect(page.getByRole("heading", { name: "Top senders" })).toBeVisible();
  expect(await page.locator("table.senders tbody tr").count()).toBeGreaterThan(0);
  // The categories the API counts are the ones the page shows.
  for (const c of counts.categories.filter((c) => c.messages > 0 && c.category !== "unclassified")) {
    await expect(page.locator(`tr[data-category="${c.category}"] td`)).toBeVisible();
  }
  // A person sees no system section.
  await expect(page.getByRole("heading", { name: "System" })).toHaveCount(0);
});

test("an admin also sees tasks per kind and day", async ({ page, request }) => {
  test.setTimeout(150_000);
  const admin = adminToken();
  // The built-in schedule ran one at start, before anything finished; it is
  // unique per minute, so ask until a new one has run.
  await expect(async () => {
    const res = await request.post("/api/v1/tasks", { headers: as(admin), data: { kind: "update_system_analytics" } });
    expect([200, 201]).toContain(res.status());
    const sys = await get<{ tasks: { kind: string }[] }>(request, "/api/v1/analytics/system", admin);
    expect(sys.tasks.map((t) => t.kind)).toContain("sync_user_emails");
  }).toPass({ intervals: [2_000, 5_000], timeout: 120_000 });

  await page.addInitScript((t) => localStorage.setItem("inboxq.token", t), admin);
  await page.goto("/analytics");
  await expect(page.getByRole("heading", { name: "System" })).toBeVisible();
  await expect(page.getByTestId("task-kinds")).toContainText("sync_user_emails");
  await page.screenshot({ path: "test-results/screens/analytics-admin.png", fullPage: true });
});
