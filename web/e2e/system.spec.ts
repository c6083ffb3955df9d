import { expect, test } from "@playwright/test";

// System tasks (the admin-only kinds: health checks, token cleanup) stay
// out of an admin's task list unless asked for, and are listed in Operators.

function adminToken(): string {
  const t = process.env.E2E_TOKEN;
  if (!t) throw new Error("E2E_TOKEN is not set: global-setup did not run");
  return t;
}

test("system tasks are hidden in Tasks by default, shown with a filter and in Operators", async ({ page, request }) => {
  const auth = { Authorization: `Bearer ${adminToken()}` };
  const later = new Date(Date.now() + 6 * 3600_000).toISOString();
  const sys = await request.post("/api/v1/tasks", { headers: auth, data: { kind: "cleanup_expired_tokens", run_at: later } });
  expect(sys.status()).toBe(201);
  const { id: sysId } = (await sys.json()) as { id: number };
  const own = await request.post("/api/v1/tasks", { headers: auth, data: { kind: "export_user_data", run_at: later } });
  expect(own.ok()).toBeTruthy();
  const { id: ownId } = (await own.json()) as { id: number };

  await page.addInitScript((t) => localStorage.setItem("inboxq.token", t), adminToken());
  await page.goto("/");
  await expect(page.locator(`tr[data-task-id="${ownId}"]`)).toBeVisible();
  await expect(page.locator(`tr[data-task-id="${ownId}"] .kind`)).toHaveText("Export my data");
  await expect(page.locator(`tr[data-task-id="${sysId}"]`)).toHaveCount(0);
  await expect(page.getByLabel("Kind")).not.toContainText("Clean up expired tokens");

  await page.getByLabel("Show system tasks").check();
  await expect(page).toHaveURL(/[?&]system=1/);
  await expect(page.locator(`tr[data-task-id="${sysId}"] .kind`)).toHaveText("Clean up expired tokens");
  await expect(page.locator(`tr[data-task-id="${ownId}"]`)).toBeVisible();

  await page.goto("/operators");
  const card = page.locator(".card", { has: page.getByRole("heading", { name: "System tasks" }) });
  await expect(card.locator(`tr[data-task-id="${sysId}"]`)).toBeVisible();
  await expect(card.locator(`tr[data-task-id="${ownId}"]`)).toHaveCount(0);
  await card.getByRole("link", { name: "All tasks, with the system tasks" }).click();
  await expect(page.getByLabel("Show system tasks")).toBeChecked();
});
