import { expect, test, type Page } from "@playwright/test";

// The dashboard runs under the Content-Security-Policy the server sends
// (internal/api/headers.go) without a single violation: any inline script
// or style, eval, or foreign origin the app starts to need fails here.

function adminToken(): string {
  const t = process.env.E2E_TOKEN;
  if (!t) throw new Error("E2E_TOKEN is not set: global-setup did not run");
  return t;
}

type Violation = { directive: string; blocked: string; source: string };

/** watch records securitypolicyviolation events from the first script on. */
async function watch(page: Page): Promise<() => Promise<Violation[]>> {
  const refused: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy/i.test(m.text())) refused.push(m.text());
  });
  await page.addInitScript(() => {
    const w = window as unknown as { __csp: Violation[] };
    w.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      w.__csp.push({ directive: e.violatedDirective, blocked: e.blockedURI, source: `${e.sourceFile}:${e.lineNumber}` }),
    );
  });
  return async () => {
    const seen = await page.evaluate(() => (window as unknown as { __csp: Violation[] }).__csp);
    return [...seen, ...refused.map((r) => ({ directive: "console", blocked: r, source: "" }))];
  };
}

test("the dashboard's pages load without a CSP violation", async ({ page, request }) => {
  const violations = await watch(page);

  const res = await page.goto("/");
  expect(res?.headers()["content-security-policy"]).toContain("script-src 'self'");
  await expect(page.getByLabel("API token")).toBeVisible();

  const token = adminToken();
  const created = await request.post("/api/v1/tasks", {
    headers: { Authorization: `Bearer ${token}` },
    data: { kind: "monitor_system_health" },
  });
  expect(created.ok()).toBeTruthy();
  const { id } = (await created.json()) as { id: number };
  const flow = await request.post("/api/v1/workflows", {
    headers: { Authorization: `Bearer ${token}` },
    data: { name: "CSP check", shape: "chain", steps: [{ kind: "update_analytics" }, { kind: "update_sender_reputation" }] },
  });
  expect(flow.ok()).toBeTruthy();
  const { workflow } = (await flow.json()) as { workflow: { id: number } };

  await page.evaluate((t) => localStorage.setItem("inboxq.token", t), token);
  const pages: [string, string | RegExp][] = [
    ["/", "Tasks"],
    ["/start", "Start work"],
    ["/schedules", "Schedules"],
    ["/alerts", "Alerts"],
    ["/exports", "Exports"],
    ["/operators", "Operators"],
    [`/tasks/${id}`, new RegExp(`Check system health #${id}$`)], // progress bar: a style set by React
    ["/workflows", "Workflows"],
    [`/workflows/${workflow.id}`, new RegExp(`CSP check #${workflow.id}$`)], // the step diagram: positions set by React, SVG
  ];
  for (const [path, heading] of pages) {
    await page.goto(path);
    await expect(page.getByRole("heading", { name: heading, level: 1 })).toBeVisible();
    await expect(page.locator(".topbar .live")).toHaveText("Live"); // the event stream is open
    expect(await violations(), path).toEqual([]);
  }
});
