import { expect, test } from "@playwright/test";

// Errors read as sentences for people: a task that is not there is said
// plainly, never as the server's steps ("getting task").

test("a missing task is said plainly", async ({ page }) => {
  const t = process.env.E2E_USER_TOKEN;
  if (!t) throw new Error("E2E_USER_TOKEN is not set: global-setup did not run");
  await page.addInitScript((tok) => localStorage.setItem("inboxq.token", tok), t);
  await page.goto("/tasks/987654321");
  const note = page.getByRole("alert");
  await expect(note).toHaveText(
    "There is no task #987654321 that you can see. Finished tasks are kept for a week, and other people’s tasks are not shown.",
  );
  await expect(page.locator("main")).not.toContainText("getting task");
  await expect(page.locator("main")).not.toContainText("Cannot load the task:");
});
