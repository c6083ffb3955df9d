import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { token } from "./global-setup";

// The Inbox against the real server in demo mode. A new user connects a
// generated mailbox of their own through the fake Gmail's consent page
// (the demo user's mailbox is shared with the bulk operations of
// gmail.spec), starts its first sync from the Inbox, and watches the page
// fill in as the sync stores the mail and the classification that follows
// sorts it. The tests run in order on that mailbox: each builds on what the
// one before did (a correction, then a rule, then both undone).

test.describe.configure({ mode: "serial" });

const SHOTS = new URL("../test-results/screens/", import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });

const USER = `ines${Date.now()}`;
// A fixed address: the fake generates the same mailbox for it on every run.
const ADDRESS = "ines@inboxq.example";
let userToken = "";

type Message = {
  id: string;
  from: string;
  subject: string;
  labels: string[];
  category?: string;
  source?: string;
  rule?: string;
};
type Counts = { categories: { category: string; messages: number; unread: number }[]; total: number };

function as(t: string) {
  return { Authorization: `Bearer ${t}` };
}

async function apiGet<T>(request: APIRequestContext, path: string, t = userToken): Promise<T> {
  const res = await request.get(path, { headers: as(t) });
  expect(res.status(), `GET ${path}`).toBe(200);
  return (await res.json()) as T;
}

async function signedIn(page: Page) {
  await page.addInitScript((t) => localStorage.setItem("inboxq.token", t), userToken);
}

const nav = (page: Page) => page.getByRole("navigation", { name: "Categories" });
const shelfLink = (page: Page, shelf: string) => nav(page).locator(`a[data-shelf="${shelf}"]`);
const shown = async (page: Page, shelf: string) => Number(await shelfLink(page, shelf).getAttribute("data-count"));
const list = (page: Page) => page.locator("ul.messages");
const rowOf = (page: Page, id: string) => page.locator(`ul.messages > li[data-id="${id}"]`);

/** openShelf shows a category's list, loaded. */
async function openShelf(page: Page, shelf: string, name: string) {
  await shelfLink(page, shelf).click();
  await expect(shelfLink(page, shelf)).toHaveAttribute("aria-current", "true");
  await expect(page.locator("#list-title")).toHaveText(name);
  await expect(list(page)).toHaveAttribute("data-shelf", shelf);
}

/** search types words in the search box and waits for their results. */
async function search(page: Page, shelfName: string, words: string) {
  await page.getByLabel(`Search in ${shelfName}`).fill(words);
  await expect(page.locator("#list-title")).toHaveText(words ? `${shelfName}: “${words}”` : shelfName);
  await expect(page.getByText(/^Loading/)).toHaveCount(0);
  // The last results stay, marked busy, until the new ones come.
  await expect(page.locator('ul.messages:not([aria-busy="true"]), .inbox-main .empty')).toBeVisible();
}

/** reveal pages through the list with Load more until the message's row shows. */
async function reveal(page: Page, id: string) {
  const row = rowOf(page, id);
  for (let i = 0; i < 40 && !(await row.count()); i++) {
    const more = page.getByRole("button", { name: "Load more" });
    await expect(more, `message ${id} not listed`).toBeVisible();
    await more.click();
    await expect(page.getByRole("button", { name: "Loading more…" })).toHaveCount(0);
  }
  await expect(row).toBeVisible();
  return row;
}

/** The spam Gmail missed (no SPAM label, in the inbox) that inboxq's spam model caught. */
let missed: Message;

test("a new user's Inbox fills in as the first sync stores the mail and classification sorts it", async ({ page, request }) => {
  test.setTimeout(120_000);
  userToken = token(USER, false);
  await signedIn(page);

  // Nothing connected yet: the Inbox sends to Accounts.
  await page.goto("/inbox");
  await expect(page.getByRole("heading", { name: "Inbox", level: 1 })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Inbox" })).toHaveAttribute(
    "aria-current",
    "page",
  );
  await expect(page.getByText("No Gmail account connected yet.")).toBeVisible();
  await page.getByRole("link", { name: "Connect one in Accounts" }).click();
  await page.getByRole("button", { name: "Connect a Gmail account" }).click();
  await page.getByLabel("Gmail address").fill(ADDRESS);
  await page.getByRole("button", { name: "Allow" }).click();
  await expect(page.locator(".banner.good")).toContainText(`Connected ${ADDRESS}.`);

  // Connected, nothing synced: the first sync starts from here.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Inbox" }).click();
  await expect(page.getByText("Nothing synced yet.")).toBeVisible();
  await page.screenshot({ path: `${SHOTS}inbox-unsynced-1400-light.png`, fullPage: true });
  await page.getByRole("button", { name: "Sync now" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Syncing:" }).getByRole("link", { name: /^task #\d+$/ })).toBeVisible();

  // The page fills in by itself (live events), and the classification that
  // follows the sync leaves nothing unclassified.
  await expect(nav(page)).toBeVisible({ timeout: 60_000 });
  await expect(shelfLink(page, "unclassified")).toHaveCount(0, { timeout: 60_000 });
  const counts = await apiGet<Counts>(request, "/api/v1/messages/counts");
  expect(counts.categories.find((c) => c.category === "unclassified")?.messages).toBe(0);
  const shelves = ["primary", "social", "promotions", "updates", "forums", "newsletters", "spam"];
  const onPage = await Promise.all(shelves.map((s) => shown(page, s)));
  expect(onPage.reduce((a, b) => a + b, 0)).toBe(counts.total);
  expect(onPage).toEqual(shelves.map((s) => counts.categories.find((c) => c.category === s)?.messages));
  expect(onPage.filter((n) => n > 0).length, `counts ${onPage.join(", ")}`).toBeGreaterThanOrEqual(4);
  expect(await shown(page, "primary")).toBeGreaterThan(0);
  expect(await shown(page, "spam")).toBeGreaterThan(0);
  await expect(page.locator(".inbox-total")).toContainText(`${counts.total.toLocaleString("en-US")} messages`);
});

test("Spam lists the spam Gmail missed, caught by the spam model, and says why", async ({ page, request }) => {
  const spam = await apiGet<{ messages: Message[] }>(request, "/api/v1/messages?category=spam&limit=500");
  const caught = spam.messages.filter((m) => m.source === "model" && !m.labels.includes("SPAM") && m.labels.includes("INBOX"));
  expect(caught.length, "spam in the inbox that the spam model caught").toBeGreaterThan(0);
  missed = caught[0] as Message;

  await signedIn(page);
  await page.goto("/inbox");
  await openShelf(page, "spam", "Spam");
  const pickers = list(page).getByRole("combobox");
  expect(await pickers.count()).toBeGreaterThan(0);
  for (const v of await pickers.evaluateAll((els) => els.map((e) => (e as HTMLSelectElement).value))) expect(v).toBe("spam");
  await expect(list(page).locator(".badge", { hasText: "Spam model" }).first()).toBeVisible();

  const row = await reveal(page, missed.id);
  await expect(row.locator(".badge")).toHaveText("Spam model");
  await row.getByRole("button", { name: missed.subject }).click();
  const detail = row.getByRole("region", { name: `Why “${missed.subject}” is here` });
  await expect(detail.locator(".why")).toContainText("The spam model scored it as spam");
  expect(await detail.locator("ul.features li").count()).toBeGreaterThan(0);
  await expect(detail).toContainText("INBOX");
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const width of [1400, 375]) {
      await page.setViewportSize({ width, height: 900 });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `spam at ${width} px, ${scheme}`).toBeLessThanOrEqual(0);
      await page.screenshot({ path: `${SHOTS}inbox-spam-${width}-${scheme}.png`, fullPage: true });
    }
  }
});

test("search narrows the list within the category, and says what it searched when nothing matches", async ({ page, request }) => {
  const spam = await apiGet<{ messages: Message[] }>(request, "/api/v1/messages?category=spam&limit=500");
  const all = spam.messages.length;
  // A word from the subjects that some spam has, and not all of it.
  const words = [...new Set(spam.messages.flatMap((m) => m.subject.toLowerCase().match(/\b[a-z]{5,}\b/g) ?? []))];
  let word = "";
  let expected = 0;
  for (const w of words.slice(0, 30)) {
    const found = await apiGet<{ messages: Message[] }>(request, `/api/v1/messages?category=spam&limit=100&q=${w}`);
    if (found.messages.length > 0 && found.messages.length < Math.min(all, 50)) {
      [word, expected] = [w, found.messages.length];
      break;
    }
  }
  expect(word, "a word that narrows the spam").not.toBe("");

  await signedIn(page);
  await page.goto("/inbox?category=spam");
  await expect(list(page)).toBeVisible();
  const before = await list(page).locator("> li").count();
  await search(page, "Spam", word);
  await expect(list(page).locator("> li")).toHaveCount(expected);
  for (const p of await list(page).getByRole("combobox").evaluateAll((els) => els.map((e) => (e as HTMLSelectElement).value)))
    expect(p).toBe("spam");

  await search(page, "Spam", "zzqxv");
  await expect(page.locator(".empty")).toContainText("No messages in Spam match “zzqxv”.");
  await page.getByRole("button", { name: "Clear the search" }).click();
  await expect(page.locator("#list-title")).toHaveText("Spam");
  await expect(list(page).locator("> li")).toHaveCount(before);
});

test("a correction moves the message at once, the model learns from it, and a reload keeps it", async ({ page, request }) => {
  test.setTimeout(60_000);
  await signedIn(page);
  await page.goto("/inbox?category=spam");
  await expect(list(page)).toBeVisible();
  const [spamBefore, primaryBefore] = [await shown(page, "spam"), await shown(page, "primary")];
  const row = await reveal(page, missed.id);

  await row.getByRole("combobox", { name: `Category of “${missed.subject}”` }).selectOption("primary");
  await expect(row.locator(".badge")).toHaveText("You");
  await expect(row.getByRole("combobox")).toHaveValue("primary");
  await expect(page.locator(".banner.correction")).toContainText(`Moved “${missed.subject}” to Primary.`);
  await expect(shelfLink(page, "spam")).toHaveAttribute("data-count", String(spamBefore - 1));
  await expect(shelfLink(page, "primary")).toHaveAttribute("data-count", String(primaryBefore + 1));

  // The learning task runs a few seconds later; the page says what it moved.
  const note = page.locator(".learn-note");
  await expect(note).toBeVisible();
  await expect(note).toContainText(/^Learned from your correction: (no other message|[\d,]+ other messages?) moved\./, {
    timeout: 30_000,
  });
  const taskId = Number((await note.getByRole("link").textContent())?.replace(/\D/g, ""));
  const task = await apiGet<{ kind: string; state: string; result: { moved: number } }>(request, `/api/v1/tasks/${taskId}`);
  expect(task.kind).toBe("reclassify_with_feedback");
  await expect(note).toContainText(task.result.moved ? `${task.result.moved.toLocaleString("en-US")} other` : "no other");
  await page.screenshot({ path: `${SHOTS}inbox-corrected-1400-light.png`, fullPage: true });

  const stored = await apiGet<Message>(request, `/api/v1/messages/${missed.id}`);
  expect([stored.category, stored.source]).toEqual(["primary", "person"]);

  await page.reload();
  await openShelf(page, "primary", "Primary");
  await search(page, "Primary", missed.subject);
  const again = await reveal(page, missed.id);
  await expect(again.locator(".badge")).toHaveText("You");
  await expect(again.getByRole("combobox")).toHaveValue("primary");
});

test("Always for this sender makes a rule, listed in Rules, and the page says what it moved", async ({ page, request }) => {
  test.setTimeout(60_000);
  await signedIn(page);
  await page.goto("/inbox");
  await search(page, "Primary", missed.subject);
  const row = await reveal(page, missed.id);
  await row.getByRole("button", { name: missed.subject }).click();
  const detail = row.getByRole("region");
  // (The classifier may agree by now: your own model learned from the correction.)
  await expect(detail.locator(".why")).toHaveText(/^You put it in Primary\./);
  await detail.getByRole("button", { name: "Always for this sender" }).click();

  const address = /<([^>]+)>/.exec(missed.from)?.[1]?.toLowerCase() ?? missed.from.toLowerCase();
  const rules = page.getByRole("region", { name: "Rules" });
  await expect(rules.locator(`li[data-sender="${address}"]`)).toContainText("Primary");
  await expect(page.locator(".banner.correction")).toContainText(`Mail from ${address} now always goes to Primary`);
  const note = page.locator(".learn-note");
  await expect(note).toContainText(/^Learned from your correction: (no other message|[\d,]+ other messages?) moved\./, {
    timeout: 30_000,
  });
  const listed = await apiGet<{ rules: { sender: string; category: string }[] }>(request, "/api/v1/classification/rules");
  expect(listed.rules).toEqual([expect.objectContaining({ sender: address, category: "primary" })]);
  // Every other message from the sender is in Primary now, by the rule.
  const fromSender = await apiGet<{ messages: Message[] }>(request, `/api/v1/messages?sender=${encodeURIComponent(address)}&limit=500`);
  for (const m of fromSender.messages.filter((x) => x.id !== missed.id)) {
    expect([m.id, m.category, m.rule]).toEqual([m.id, "primary", `sender-rule:${address}`]);
  }
});

test("deleting the rule and removing the correction give the message back to the spam model", async ({ page, request }) => {
  test.setTimeout(60_000);
  await signedIn(page);
  await page.goto("/inbox");
  const rules = page.getByRole("region", { name: "Rules" });
  await rules.getByRole("button", { name: /^Delete the rule for / }).click();
  await expect(rules.getByRole("listitem")).toHaveCount(0);
  await expect(rules).toContainText("No sender rules yet.");

  await search(page, "Primary", missed.subject);
  const row = await reveal(page, missed.id);
  await row.getByRole("button", { name: missed.subject }).click();
  await row.getByRole("region").getByRole("button", { name: "Remove my correction" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Removed your correction" })).toContainText(`“${missed.subject}”`);
  await expect(page.locator(".learn-note")).toContainText(/^Relearned without that correction: /, { timeout: 30_000 });

  // Once relearned, the classifier's own decision shows again: Spam, by the spam model.
  await expect
    .poll(async () => {
      const m = await apiGet<Message>(request, `/api/v1/messages/${missed.id}`);
      return [m.category, m.source];
    })
    .toEqual(["spam", "model"]);
  await page.goto("/inbox?category=spam");
  await expect(list(page)).toBeVisible();
  const back = await reveal(page, missed.id);
  await expect(back.getByRole("combobox")).toHaveValue("spam");
  await expect(back.locator(".badge")).toHaveText("Spam model");
});

test("another user sees none of these messages, and cannot read or correct one", async ({ page, request }) => {
  const other = token(`omar${Date.now()}`, false);
  const mine = await apiGet<Counts>(request, "/api/v1/messages/counts");
  expect(mine.total).toBeGreaterThan(0);

  const theirs = await apiGet<Counts>(request, "/api/v1/messages/counts", other);
  expect(theirs.total).toBe(0);
  expect((await apiGet<{ messages: Message[] }>(request, "/api/v1/messages?limit=500", other)).messages).toEqual([]);
  const account = Number(missed.id.split(".")[0]);
  expect(
    (await apiGet<{ messages: Message[] }>(request, `/api/v1/messages?account_id=${account}`, other)).messages,
  ).toEqual([]);
  expect((await request.get(`/api/v1/messages/${missed.id}`, { headers: as(other) })).status()).toBe(404);
  const fb = await request.post(`/api/v1/messages/${missed.id}/feedback`, { headers: as(other), data: { category: "primary" } });
  expect(fb.status()).toBe(404);

  await page.addInitScript((t) => localStorage.setItem("inboxq.token", t), other);
  await page.goto("/inbox");
  await expect(page.getByText("No Gmail account connected yet.")).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Categories" })).toHaveCount(0);
  // The first user's message is still theirs, unchanged.
  expect((await apiGet<Message>(request, `/api/v1/messages/${missed.id}`)).category).toBe("spam");
});
