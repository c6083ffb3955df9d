import { expect, test } from "@playwright/test";
import { mkdirSync } from "node:fs";

// Every page at 1400 and 390 px, light and dark, as the demo user (an admin,
// with a connected mailbox): nothing wider than the screen, and a
// screenshot of each in test-results/screens/ to look at.

const SHOTS = new URL("../test-results/screens/", import.meta.url).pathname;

function demoToken(): string {
  const t = process.env.E2E_DEMO_TOKEN;
  if (!t) throw new Error("E2E_DEMO_TOKEN is not set: global-setup did not find the demo token");
  return t;
}

const PAGES: [string, string][] = [
  ["tasks", "/?system=1"],
  ["workflows", "/workflows"],
  ["inbox", "/inbox"],
  ["clusters", "/clusters"],
  ["senders", "/senders"],
  ["analytics", "/analytics"],
  ["start", "/start"],
  ["accounts", "/accounts"],
  ["schedules", "/schedules"],
  ["alerts", "/alerts"],
  ["exports", "/exports"],
  ["operators", "/operators"],
];

for (const scheme of ["light", "dark"] as const) {
  test(`every page fits at 1400 and 390 px, ${scheme}`, async ({ page, request }) => {
    test.setTimeout(60_000);
    mkdirSync(SHOTS, { recursive: true });
    const auth = { Authorization: `Bearer ${demoToken()}` };
    const created = await request.post("/api/v1/tasks", { headers: auth, data: { kind: "export_user_data" } });
    const { id } = (await created.json()) as { id: number };
    // A small workflow of the demo user's own data: two steps, then one waiting for both.
    const flow = await request.post("/api/v1/workflows", {
      headers: auth,
      data: {
        name: "Recompute, then export",
        shape: "chord",
        steps: [
          { name: "analytics", kind: "update_analytics" },
          { name: "reputation", kind: "update_sender_reputation" },
          { name: "export", kind: "export_user_data" },
        ],
      },
    });
    expect(flow.status()).toBe(201);
    const { workflow } = (await flow.json()) as { workflow: { id: number } };
    await page.emulateMedia({ colorScheme: scheme });
    await page.addInitScript((t) => localStorage.setItem("inboxq.token", t), demoToken());
    for (const [name, path] of [...PAGES, ["task", `/tasks/${id}`], ["workflow", `/workflows/${workflow.id}`]] as [string, string][]) {
      for (const width of [1400, 390]) {
        await page.setViewportSize({ width, height: 900 });
        await page.goto(path);
        await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
        await expect(page.locator(".topbar .live")).toHaveText("Live");
        await expect(page.getByText(/^Loading/)).toHaveCount(0);
        const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor || getComputedStyle(document.documentElement).backgroundColor);
        const root = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
        const lum = (c: string) => (c.match(/\d+/g) ?? []).slice(0, 3).map(Number).reduce((a, b) => a + b, 0) / 3;
        if (scheme === "dark") expect(lum(root), `${name} background ${root} ${bg}`).toBeLessThan(60);
        else expect(lum(root)).toBeGreaterThan(200);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow, `${name} at ${width} px`).toBeLessThanOrEqual(0);
        await page.screenshot({ path: `${SHOTS}${name}-${width}-${scheme}.png`, fullPage: true });
      }
    }
  });
}

// The forms a person fills, by their names for people, at both widths.
for (const scheme of ["light", "dark"] as const) {
  test(`Start work's bulk forms read as people speak, ${scheme}`, async ({ page }) => {
    mkdirSync(SHOTS, { recursive: true });
    await page.emulateMedia({ colorScheme: scheme });
    await page.addInitScript((t) => localStorage.setItem("inboxq.token", t), demoToken());
    // The accounts answer late, as on a slow network: the field waits for
    // them as a disabled select, never a number input the picker misses.
    await page.route("**/api/v1/accounts", async (route) => {
      await new Promise((r) => setTimeout(r, 500));
      await route.fallback();
    });
    for (const width of [1400, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await page.goto("/start");
      await page.getByLabel("Kind").selectOption({ label: "Delete messages" });
      await page.getByLabel("Gmail account").selectOption({ label: "demo@inboxq.example" });
      const label = page.getByLabel("Label", { exact: true });
      await expect(label.locator('option[value="CATEGORY_PROMOTIONS"]')).toBeAttached();
      await label.selectOption("CATEGORY_PROMOTIONS");
      await page.getByLabel("Delete permanently").check();
      await expect(page.locator("#start-refused")).toBeVisible();
      const form = await page.locator("form").innerText();
      for (const internal of ["account_id", "older_than_days", "list-accounts", "CATEGORY_PROMOTIONS", " *"]) {
        expect(form, `"${internal}" shown`).not.toContain(internal);
      }
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await page.screenshot({ path: `${SHOTS}start-delete-${width}-${scheme}.png`, fullPage: true });
    }
  });
}
