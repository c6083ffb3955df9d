import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { token } from "./global-setup";

// Workflows against the real server in demo mode. A new user connects two
// generated mailboxes of their own (never synced, so a sync is a full one).
// The first is refreshed from the Accounts page: the workflow's page shows
// classify fan out into classify-1… live and everything complete. On the
// second, a workflow made through the API (a chain: a full sync, then
// classify_mailbox, then clustering) is cancelled from its page while the sync runs, then
// retried. Another user sees none of it.

test.describe.configure({ mode: "serial" });

const SHOTS = new URL("../test-results/screens/", import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });

const USER = `wren${Date.now()}`;
let userToken = "";
let cancelledId = 0;

type Step = { name: string; state: string; outcome?: string; task_id: number };
type Workflow = { id: number; state: string; run: number; steps: Step[]; progress: { total: number } };

const as = (t: string) => ({ Authorization: `Bearer ${t}` });

async function apiGet<T>(request: APIRequestContext, path: string): Promise<T> {
  const res = await request.get(path, { headers: as(userToken) });
  expect(res.status(), `GET ${path}`).toBe(200);
  return (await res.json()) as T;
}

async function signedIn(page: Page, t = userToken) {
  await page.addInitScript((tok) => localStorage.setItem("inboxq.token", tok), t);
}

/** connect links a generated mailbox through the demo's consent page and returns its account id. */
async function connect(page: Page, request: APIRequestContext, address: string): Promise<number> {
  await page.goto("/accounts");
  await page.getByRole("button", { name: "Connect a Gmail account" }).click();
  await page.getByLabel("Gmail address").fill(address);
  await page.getByRole("button", { name: "Allow" }).click();
  await expect(page.locator(".banner.good")).toContainText(`Connected ${address}.`);
  const { accounts } = await apiGet<{ accounts: { id: number; email: string }[] }>(request, "/api/v1/accounts");
  const account = accounts.find((a) => a.email === address);
  if (!account) throw new Error(`${address} is not connected`);
  return account.id;
}

const stateBadge = (page: Page) => page.locator(".page-head .badge");
const step = (page: Page, name: string) => page.locator(`li.wf-step[data-step="${name}"]`);

/** A marker that a page load would lose: the page must change live, not by reloading. */
async function mark(page: Page) {
  await page.evaluate(() => ((window as unknown as { e2eMark: boolean }).e2eMark = true));
}
async function stillMarked(page: Page) {
  return page.evaluate(() => (window as unknown as { e2eMark?: boolean }).e2eMark === true);
}

test("Refresh mailbox on Accounts opens the workflow, which fans out live and completes", async ({ page, request }) => {
  test.setTimeout(150_000);
  userToken = token(USER, false);
  await signedIn(page);

  // A newcomer's list says how to start one.
  await page.goto("/workflows");
  await expect(page.getByRole("heading", { name: "Workflows", level: 1 })).toBeVisible();
  await expect(page.getByText("No workflows yet.")).toBeVisible();
  await expect(page.locator(".empty").getByRole("link", { name: "Accounts" })).toBeVisible();

  const address = `${USER}@inboxq.example`;
  await connect(page, request, address);
  const row = page.locator(`tr[data-account="${address}"]`);
  await row.getByRole("button", { name: `Refresh mailbox ${address}` }).click();

  await expect(page).toHaveURL(/\/workflows\/\d+$/);
  const id = Number(new URL(page.url()).pathname.split("/").pop());
  await expect(page.getByRole("heading", { level: 1 })).toContainText(`Refresh ${address}`);
  await mark(page);
  for (const name of ["sync", "classify", "reputation", "analytics"]) await expect(step(page, name)).toBeVisible();
  await expect(step(page, "reputation")).toContainText("waits for: classify");
  // classify adds its batches when it completes: they appear without a reload.
  await expect(step(page, "classify-1")).toBeVisible({ timeout: 60_000 });
  await expect(step(page, "classify-1")).toContainText("waits for: classify");
  await expect(stateBadge(page)).toHaveText("completed", { timeout: 60_000 });
  expect(await stillMarked(page)).toBe(true);

  const w = await apiGet<Workflow>(request, `/api/v1/workflows/${id}`);
  const batches = w.steps.filter((s) => /^classify-\d+$/.test(s.name));
  test.info().annotations.push({ type: "classify batches", description: String(batches.length) });
  expect(batches.length).toBeGreaterThan(0);
  // Every step is drawn, completed, in columns by depth: sync, classify, the batches, then the two that wait for them.
  await expect(page.locator("li.wf-step")).toHaveCount(w.steps.length);
  await expect(page.locator("li.wf-step .badge")).toHaveText(w.steps.map(() => "completed"));
  const left = async (name: string) => (await step(page, name).boundingBox())?.x ?? -1;
  expect(await left("sync")).toBeLessThan(await left("classify"));
  expect(await left("classify")).toBeLessThan(await left("classify-1"));
  expect(await left("classify-1")).toBeLessThan(await left("reputation"));
  expect(await left("reputation")).toBe(await left("analytics"));
  await expect(page.getByRole("progressbar", { name: "Workflow progress" })).toHaveAttribute("aria-valuenow", "100");
  await expect(page.getByText(`${w.steps.length} of ${w.steps.length} finished`)).toBeVisible();
  await expect(page.getByRole("button", { name: "Cancel workflow" })).toBeDisabled();
  await expect(page.getByRole("button", { name: "Retry workflow" })).toBeDisabled();
  await page.screenshot({ path: `${SHOTS}workflow-refresh.png`, fullPage: true });

  // A step's task says which workflow it belongs to.
  await step(page, "classify-1").getByRole("link", { name: "classify-1" }).click();
  await expect(page).toHaveURL(/\/tasks\/\d+$/);
  await page.getByRole("link", { name: `part of workflow #${id}` }).click();
  await expect(page).toHaveURL(new RegExp(`/workflows/${id}$`));

  // The list shows it with its progress.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Workflows" }).click();
  const listed = page.locator(`tr[data-workflow="${id}"]`);
  await expect(listed.locator(".badge")).toHaveText("completed");
  await expect(listed).toContainText(`${w.steps.length} of ${w.steps.length} steps`);
});

test("a workflow is cancelled from its page while its first step runs, then retried", async ({ page, request }) => {
  test.setTimeout(120_000);
  await signedIn(page);
  const account = await connect(page, request, `${USER}.two@inboxq.example`);
  const args = { account_id: account };
  const created = await request.post("/api/v1/workflows", {
    headers: as(userToken),
    data: {
      name: "Sync, classify, cluster",
      shape: "chain",
      steps: [
        { name: "sync", kind: "sync_user_emails", args },
        { name: "classify", kind: "classify_mailbox", args },
        { name: "clusters", kind: "cluster_user_emails", args },
      ],
    },
  });
  expect(created.status()).toBe(201);
  const { workflow } = (await created.json()) as { workflow: Workflow };
  cancelledId = workflow.id;

  await page.goto(`/workflows/${workflow.id}`);
  await expect(step(page, "classify")).toContainText("waits for: sync");
  await expect(step(page, "classify").locator(".badge")).toHaveText("waiting");
  // A first full sync of the mailbox lasts seconds: cancel while it runs.
  await expect(step(page, "sync").locator(".badge")).toHaveText("running", { timeout: 15_000 });
  await page.getByRole("button", { name: "Cancel workflow" }).click();
  await expect(stateBadge(page)).toHaveText("cancelled", { timeout: 15_000 });
  await expect(step(page, "sync").locator(".badge")).toHaveText("cancelled");
  // What waited for it never ran.
  for (const name of ["classify", "clusters"]) await expect(step(page, name).locator(".badge")).toHaveText(/^(cancelled|skipped)$/);
  await expect(page.getByRole("button", { name: "Cancel workflow" })).toBeDisabled();
  await page.screenshot({ path: `${SHOTS}workflow-cancelled.png`, fullPage: true });

  const w = await apiGet<Workflow>(request, `/api/v1/workflows/${workflow.id}`);
  expect(w.state).toBe("cancelled");
  expect(w.steps.map((s) => s.outcome)).not.toContain("completed");

  // Retry runs what did not complete again, to completion.
  await page.getByRole("button", { name: "Retry workflow" }).click();
  await expect(stateBadge(page)).not.toHaveText("cancelled");
  await expect(stateBadge(page)).toHaveText("completed", { timeout: 60_000 });
  const again = await apiGet<Workflow>(request, `/api/v1/workflows/${workflow.id}`);
  expect(again.run).toBe(2);
  // classify fanned out this time: its batches are steps too.
  await expect(page.locator("li.wf-step .badge")).toHaveText(again.steps.map(() => "completed"));
});

test("another user cannot see the workflow", async ({ page, request }) => {
  const other = process.env.E2E_USER_TOKEN;
  if (!other) throw new Error("E2E_USER_TOKEN is not set");
  expect(cancelledId).toBeGreaterThan(0);
  const res = await request.get(`/api/v1/workflows/${cancelledId}`, { headers: as(other) });
  expect(res.status()).toBe(404);
  await signedIn(page, other);
  await page.goto(`/workflows/${cancelledId}`);
  await expect(page.getByRole("heading", { name: `Workflow #${cancelledId}`, level: 1 })).toBeVisible();
  await expect(page.getByRole("alert")).toHaveText(
    `There is no workflow #${cancelledId} that you can see. Other people’s workflows are not shown.`,
  );
  await page.goto("/workflows");
  await expect(page.locator(`tr[data-workflow="${cancelledId}"]`)).toHaveCount(0);
});
