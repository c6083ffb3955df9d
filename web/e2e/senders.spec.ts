import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { token } from "./global-setup";

// The Senders page against the real server in demo mode. A new user
// connects a generated mailbox of their own, syncs it from the Inbox, and
// the classification that follows starts update_sender_reputation: the
// spam Gmail missed (failing authentication, never opened) scores lowest,
// its factors say why, and "always put this sender in Spam" makes a rule.

test.describe.configure({ mode: "serial" });

const USER = `sana${Date.now()}`;
const ADDRESS = "sana@inboxq.example";
let userToken = "";

type Sender = { id: number; sender: string; score: number; messages: number; auth_fail: number };

function as(t: string) {
  return { Authorization: `Bearer ${t}` };
}

async function apiGet<T>(request: APIRequestContext, path: string): Promise<T> {
  const res = await request.get(path, { headers: as(userToken) });
  expect(res.status(), `GET ${path}`).toBe(200);
  return (await res.json()) as T;
}

async function signedIn(page: Page) {
  await page.addInitScript((t) => localStorage.setItem("inboxq.token", t), userToken);
}

test("after the first sync, Senders lists the spam Gmail missed lowest and explains its score", async ({ page, request }) => {
  test.setTimeout(180_000);
  userToken = token(USER, false);
  await signedIn(page);

  await page.goto("/accounts");
  await page.getByRole("button", { name: "Connect a Gmail account" }).click();
  await page.getByLabel("Gmail address").fill(ADDRESS);
  await page.getByRole("button", { name: "Allow" }).click();
  await expect(page.locator(".banner.good")).toContainText(`Connected ${ADDRESS}.`);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Inbox" }).click();
  await page.getByRole("button", { name: "Sync now" }).click();

  // Classification follows the sync, and scoring follows classification.
  await expect
    .poll(async () => (await apiGet<{ senders: Sender[] }>(request, "/api/v1/senders?limit=5")).senders.length, {
      timeout: 120_000,
    })
    .toBeGreaterThan(0);

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Senders" }).click();
  await expect(page.getByRole("heading", { name: "Senders", level: 1 })).toBeVisible();
  const rows = page.locator("table.senders tbody tr");
  await expect(rows.first()).toBeVisible();

  // Lowest first: the worst sender is one of the spam senders with
  // failing authentication, in the poor band.
  const { senders } = await apiGet<{ senders: Sender[] }>(request, "/api/v1/senders?limit=500&kind=address");
  const worst = senders[0];
  expect(worst).toBeDefined();
  if (!worst) return;
  expect(worst.sender).toMatch(/^info@.*\.test$/);
  expect(worst.auth_fail).toBeGreaterThan(0);
  const best = senders[senders.length - 1];
  expect(best && best.score).toBeGreaterThan(worst.score);
  await expect(rows.first()).toHaveAttribute("data-band", "poor");
  await expect(rows.first().getByRole("button")).toHaveText(worst.sender);

  // Its factors, in words.
  await rows.first().getByRole("button").click();
  const panel = page.getByRole("complementary");
  await expect(panel.getByRole("heading", { level: 2 })).toContainText(`${worst.sender}: ${worst.score} (Poor)`);
  await expect(panel.getByText(/^Authentication/).locator("..")).toContainText("failed on");
  await expect(panel).toContainText("You opened");

  // Always put it in Spam: a rule through the rules API.
  await panel.getByLabel("Always put this sender in").selectOption("spam");
  await panel.getByRole("button", { name: "Make the rule" }).click();
  await expect(panel.getByRole("status")).toContainText(`Mail from ${worst.sender} now goes to Spam`);
  const rules = await apiGet<{ rules: { sender: string; category: string }[] }>(request, "/api/v1/classification/rules");
  expect(rules.rules).toContainEqual(expect.objectContaining({ sender: worst.sender, category: "spam" }));

  // By volume: most mail first.
  await page.getByLabel("Sort").selectOption("volume");
  await expect(page).toHaveURL(/sort=volume/);
  const counts = await rows.locator("td:nth-child(3)").allInnerTexts();
  const n = counts.map((c) => Number(c.replace(/,/g, "")));
  expect(n.length).toBeGreaterThan(1);
  for (let i = 1; i < n.length; i++) expect(n[i - 1]).toBeGreaterThanOrEqual(n[i] ?? 0);
});
