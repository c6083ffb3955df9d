import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { token } from "./global-setup";

// The Clusters page against the real server in demo mode. A new user
// connects a generated mailbox of their own, syncs it, finds its clusters
// from the page, and archives the biggest one after the count preview and
// a confirmation.

test.describe.configure({ mode: "serial" });

const SHOTS = new URL("../test-results/screens/", import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });

const USER = `cleo${Date.now()}`;
const ADDRESS = "cleo@inboxq.example";
let userToken = "";

type Cluster = { id: string; account_id: number; label: string; size: number; unread: number };
type Task = { id: number; state: string };

const as = (t: string) => ({ Authorization: `Bearer ${t}` });

async function apiGet<T>(request: APIRequestContext, path: string): Promise<T> {
  const res = await request.get(path, { headers: as(userToken) });
  expect(res.status(), `GET ${path}`).toBe(200);
  return (await res.json()) as T;
}

async function finished(request: APIRequestContext, id: number) {
  await expect
    .poll(async () => (await apiGet<Task>(request, `/api/v1/tasks/${id}`)).state, { timeout: 90_000 })
    .toBe("completed");
}

async function signedIn(page: Page) {
  await page.addInitScript((t) => localStorage.setItem("inboxq.token", t), userToken);
}

test("a synced mailbox's clusters list biggest first, and one is archived after a preview and a confirmation", async ({
  page,
  request,
}) => {
  test.setTimeout(180_000);
  userToken = token(USER, false);
  await signedIn(page);

  await page.goto("/accounts");
  await page.getByRole("button", { name: "Connect a Gmail account" }).click();
  await page.getByLabel("Gmail address").fill(ADDRESS);
  await page.getByRole("button", { name: "Allow" }).click();
  await expect(page.locator(".banner.good")).toContainText(`Connected ${ADDRESS}.`);
  const { accounts } = await apiGet<{ accounts: { id: number; email: string }[] }>(request, "/api/v1/accounts");
  const account = accounts.find((a) => a.email === ADDRESS)!;
  const sync = await request.post("/api/v1/tasks", {
    headers: as(userToken),
    data: { kind: "sync_user_emails", args: { account_id: account.id } },
  });
  expect(sync.status()).toBe(201);
  await finished(request, ((await sync.json()) as Task).id);

  // No clusters until they are found; the page starts the task.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Clusters" }).click();
  await expect(page.getByRole("heading", { name: "Clusters", level: 1 })).toBeVisible();
  await expect(page.getByText("No clusters yet: sync a mailbox, then find clusters.")).toBeVisible();
  await page.getByRole("button", { name: "Find clusters" }).click();
  const started = page.getByRole("status").filter({ hasText: "Grouping your mail:" }).getByRole("link", { name: /^task #\d+$/ });
  await expect(started).toBeVisible();
  await finished(request, Number((await started.textContent())!.replace("task #", "")));
  await page.getByRole("button", { name: "Refresh" }).click();

  const { clusters } = await apiGet<{ clusters: Cluster[] }>(request, "/api/v1/clusters?limit=100");
  expect(clusters.length).toBeGreaterThan(5);
  const rows = page.locator("table.clusters tbody tr");
  const top = clusters[0];
  if (!top) throw new Error("no clusters");
  await expect(rows.first()).toHaveAttribute("data-cluster", top.id);
  expect(await rows.count()).toBe(Math.min(clusters.length, 100));
  await page.screenshot({ path: `${SHOTS}clusters-1400-light.png` });
  const sizes = await rows.locator('td[data-label="Messages"]').allTextContents();
  const numbers = sizes.map((s) => Number(s.replace(/,/g, "")));
  expect(numbers).toEqual([...numbers].sort((a, b) => b - a));

  // Archive the biggest: the preview counts exactly the cluster.
  const row = page.locator(`tr[data-cluster="${top.id}"]`);
  await expect(row).toContainText(top.label);
  await row.getByRole("button", { name: "Archive all…" }).click();
  const confirm = row.getByRole("button", { name: `Archive ${top.size.toLocaleString("en-US")} messages` });
  await expect(confirm).toBeVisible();
  await confirm.click();
  const archiving = row.getByRole("link", { name: /^task #\d+$/ });
  await expect(archiving).toBeVisible();
  await finished(request, Number((await archiving.textContent())!.replace("task #", "")));

  // Nothing of it is left in the inbox.
  const count = await request.post(`/api/v1/accounts/${top.account_id}/messages/count`, {
    headers: as(userToken),
    data: { target: { cluster_id: top.id, label: "INBOX" } },
  });
  expect(count.status()).toBe(200);
  expect(((await count.json()) as { count: number }).count).toBe(0);
});
