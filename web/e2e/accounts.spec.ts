import { expect, test, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { token } from "./global-setup";

// The Accounts page, where Google's consent comes back to (the server's
// callback redirects to /accounts?connected=EMAIL or ?error=CODE&…). Signed
// in as the demo user, whose demo mailbox is connected; in demo mode there
// is no Google OAuth client, so Connect is refused.

const SHOTS = new URL("../screenshots/", import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });
const MAILBOX = "demo@inboxq.example";

function demoToken(): string {
  const t = process.env.E2E_DEMO_TOKEN;
  if (!t) throw new Error("E2E_DEMO_TOKEN is not set: global-setup did not find the demo token");
  return t;
}

async function signedIn(page: Page) {
  await page.addInitScript((t) => localStorage.setItem("inboxq.token", t), demoToken());
}

// The dashboard's own sentence: a description in the link is never shown.
const OTHER_BROWSER =
  "This mailbox connection was started in another browser or by someone else, so it was refused. " +
  "Start the connection again here, in this browser.";

test("a consent refused in another browser says so, until dismissed", async ({ page }) => {
  await signedIn(page);
  await page.goto(
    `/accounts?${new URLSearchParams({ error: "consent_other_browser", error_description: "Call 555-0100 now" })}`,
  );
  await expect(page.getByRole("heading", { name: "Accounts", level: 1 })).toBeVisible();
  const banner = page.locator(".banner.bad");
  await expect(banner).toHaveText(new RegExp(OTHER_BROWSER.replace(/[.()]/g, "\\$&")));
  await expect(banner).not.toContainText("555");
  await expect(banner).toHaveAttribute("role", "alert");
  await expect(page.getByRole("navigation").getByRole("link", { name: "Accounts" })).toHaveAttribute("aria-current", "page");

  await page.reload(); // the query string is still there: so is the banner
  await expect(banner).toBeVisible();
  await page.screenshot({ path: `${SHOTS}accounts-error.png`, fullPage: true });

  await page.getByRole("button", { name: "Dismiss" }).click();
  await expect(banner).toHaveCount(0);
  expect(new URL(page.url()).search).toBe("");
  await page.reload();
  await expect(page.getByRole("heading", { name: "Accounts", level: 1 })).toBeVisible();
  await expect(page.locator(".banner")).toHaveCount(0);
});

test("a code without a description gets a sentence of its own", async ({ page }) => {
  await signedIn(page);
  await page.goto("/accounts?error=access_denied");
  await expect(page.locator(".banner.bad")).toContainText("Access was not granted on Google's page, so nothing was connected.");
});

test("a connected mailbox is announced, and the demo account is listed", async ({ page }) => {
  await signedIn(page);
  await page.goto("/accounts?connected=x%40example.com");
  await expect(page.locator(".banner.good")).toContainText("Connected x@example.com.");
  const row = page.locator(`tr[data-account="${MAILBOX}"]`);
  await expect(row).toBeVisible();
  await expect(row.locator(".badge")).toHaveText("Connected");

  for (const [width, name] of [
    [1400, "accounts-wide"],
    [390, "accounts-narrow"],
  ] as const) {
    await page.setViewportSize({ width, height: 900 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
  }
});

// In demo mode the server's OAuth client is the fake Gmail's, whose consent
// page (/auth) plays Google's: a new user, with no account yet, is told in
// Start work how to connect one, connects a generated mailbox through that
// page, sees it listed, and can disconnect it, told what happens to its mail.
test("a new user connects a generated demo mailbox end to end, and disconnects it", async ({ page }) => {
  const user = `carol${Date.now()}`;
  await page.addInitScript((t) => localStorage.setItem("inboxq.token", t), token(user, false));
  await page.goto("/start");
  const hint = page.locator(".banner.info");
  await expect(hint).toContainText("You have no Gmail account connected yet");
  await hint.getByRole("link", { name: "Connect a Gmail account" }).click();
  await expect(page.getByRole("heading", { name: "Accounts", level: 1 })).toBeVisible();
  await expect(page.getByText("No Gmail account connected yet.")).toBeVisible();

  await page.getByRole("button", { name: "Connect a Gmail account" }).click();
  await expect(page.getByRole("heading", { name: "Sign in to the fake Gmail" })).toBeVisible();
  mkdirSync(`${SHOTS}../test-results/screens`, { recursive: true });
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.setViewportSize({ width: 390, height: 700 });
    await page.screenshot({ path: `${SHOTS}../test-results/screens/consent-390-${scheme}.png`, fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  const address = `${user}@inboxq.example`;
  await page.getByLabel("Gmail address").fill(address);
  await page.getByRole("button", { name: "Allow" }).click();

  await expect(page).toHaveURL(/\/accounts\?connected=/);
  await expect(page.locator(".banner.good")).toContainText(`Connected ${address}.`);
  const row = page.locator(`tr[data-account="${address}"]`);
  await expect(row.locator(".badge")).toHaveText("Connected");
  await page.goto("/start");
  await expect(page.getByRole("heading", { name: "Start work", level: 1 })).toBeVisible();
  await expect(page.locator(".banner.info")).toHaveCount(0);

  await page.goto("/accounts");
  await row.getByRole("button", { name: "Disconnect…" }).click();
  await expect(row.getByRole("group")).toContainText(`inboxq forgets ${address}: it deletes its access and the messages it stored.`);
  await expect(row.getByRole("group")).toContainText("Your mail in Gmail stays as it is");
  await row.getByRole("button", { name: "Disconnect", exact: true }).click();
  await expect(row).toHaveCount(0);
  await expect(page.getByText("No Gmail account connected yet.")).toBeVisible();
});

test("Deny on the consent page comes back saying nothing was connected", async ({ page }) => {
  await page.addInitScript((t) => localStorage.setItem("inboxq.token", t), token(`dave${Date.now()}`, false));
  await page.goto("/accounts");
  await page.getByRole("button", { name: "Connect a Gmail account" }).click();
  await page.getByRole("button", { name: "Deny" }).click();
  await expect(page.locator(".banner.bad")).toContainText("Access was not granted on Google's page, so nothing was connected.");
});

// A server without any Google OAuth client answers 409 (a real server with
// no INBOXQ_GOOGLE_CLIENT_ID outside demo mode); made here with page.route.
test("Connect refused by the server says why as a sentence", async ({ page }) => {
  await signedIn(page);
  await page.route("**/api/v1/accounts/connect", (route) =>
    route.fulfill({
      status: 409,
      contentType: "application/problem+json",
      body: JSON.stringify({ title: "Conflict", status: 409, detail: "no Google OAuth client is configured (demo mode)" }),
    }),
  );
  await page.goto("/accounts");
  await page.getByRole("button", { name: "Connect a Gmail account" }).click();
  await expect(page.locator(".actions.connect").getByRole("alert")).toHaveText(
    "This server cannot connect Gmail accounts: no Google OAuth client is configured (demo mode).",
  );
  await expect(page).toHaveURL(/\/accounts$/);
  await page.setViewportSize({ width: 390, height: 900 });
  await page.screenshot({ path: `${SHOTS}accounts-connect-refused-narrow.png`, fullPage: true });
});
