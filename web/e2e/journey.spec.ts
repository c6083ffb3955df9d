import { expect, test } from "@playwright/test";
import { token } from "./global-setup";

// The path a new user takes after `make run`, without typing an id or a
// label: connect a second demo mailbox through the fake Gmail's consent
// page, sync it (its total honest from the start), archive its promotions
// picked from its real labels, and follow an alert to its task.

test("a new user connects a demo mailbox, syncs it and archives its promotions, by clicks", async ({ page }) => {
  test.setTimeout(90_000);
  await page.addInitScript((t) => localStorage.setItem("inboxq.token", t), token(`erin${Date.now()}`, false));
  await page.goto("/start");
  await page.locator(".banner.info").getByRole("link", { name: "Connect a Gmail account" }).click();
  await page.getByRole("button", { name: "Connect a Gmail account" }).click();
  // The fake's consent page suggests a fresh address: Allow is enough.
  const address = await page.getByLabel("Gmail address").inputValue();
  expect(address).toMatch(/^demo\d+@inboxq\.example$/);
  await page.getByRole("button", { name: "Allow" }).click();
  await expect(page.locator(".banner.good")).toContainText(`Connected ${address}.`);

  // A full sync, chosen by its name.
  await page.getByRole("link", { name: "Start work" }).first().click();
  const kind = page.getByLabel("Kind");
  await expect(kind.getByRole("option", { name: "Full mailbox sync" })).toBeAttached();
  await kind.selectOption({ label: "Full mailbox sync" });
  await page.getByLabel("Gmail account").selectOption({ label: address });
  await page.getByRole("button", { name: "Start", exact: true }).click();
  await expect(page).toHaveURL(/\/tasks\/\d+$/);
  const syncId = new URL(page.url()).pathname.split("/").pop();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(`Full mailbox sync #${syncId}`);
  const bar = page.getByRole("progressbar");
  const totals = new Set<string>();
  await expect
    .poll(
      async () => {
        const m = /of (\d{1,3}(?:,\d{3})*)/.exec((await bar.getAttribute("aria-valuetext")) ?? "");
        if (m?.[1]) totals.add(m[1]);
        return page.locator(".badge.state-completed, .state-completed").count();
      },
      { timeout: 45_000, intervals: [100] },
    )
    .toBeGreaterThan(0);
  const result = JSON.parse((await page.getByLabel("Result").textContent()) ?? "{}") as { messages: number };
  expect([...totals], "one total, from the first report to the end").toEqual([result.messages.toLocaleString("en-US")]);

  // Archive the promotions: the label is picked from the mailbox's labels.
  await page.getByRole("link", { name: "Start work" }).first().click();
  await kind.selectOption({ label: "Archive messages" });
  await page.getByLabel("Gmail account").selectOption({ label: address });
  const label = page.getByLabel("Label", { exact: true });
  await expect(label.locator("option", { hasText: /^Promotions/ })).toBeAttached();
  await label.selectOption({ value: "CATEGORY_PROMOTIONS" });
  await expect(page.locator("#preview-count")).toHaveText(/^This will archive [\d,]+ messages?\.$/);
  await page.getByLabel("I understand").check();
  await page.getByRole("button", { name: "Start", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(/^Archive messages #\d+$/);
  const archiveId = new URL(page.url()).pathname.split("/").pop();
  await expect(page.locator(".progress-detail")).toContainText(/[\d,]+ messages? in 1 call$/, { timeout: 30_000 });

  // Its alert links to it.
  await page.getByRole("link", { name: "Alerts" }).first().click();
  const alert = page.locator("li.alert", { hasText: `See task #${archiveId}` });
  await expect(alert).toBeVisible();
  await alert.getByRole("link", { name: `See task #${archiveId}` }).click();
  await expect(page).toHaveURL(new RegExp(`/tasks/${archiveId}$`));
});
