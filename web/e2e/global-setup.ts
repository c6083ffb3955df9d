import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** token mints an API token for user (a new user on first use). */
export function token(user: string, admin: boolean): string {
  const out = execFileSync(`${root}bin/inboxq`, ["token", "create", "--user", user, ...(admin ? ["--admin"] : [])], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, DATABASE_URL: process.env.E2E_DATABASE_URL },
  });
  const first = out.split("\n")[0]?.trim() ?? "";
  if (!first.startsWith("iq_")) throw new Error(`inboxq token create printed no token: ${out}`);
  return first;
}

/** demoTokenIn finds the token the server prints after "inboxq demo". */
function demoTokenIn(log: string): string | undefined {
  const lines = log.split("\n");
  const at = lines.findIndex((l) => l.includes("inboxq demo"));
  if (at < 0) return undefined;
  return lines
    .slice(at + 1)
    .map((l) => l.trim())
    .find((l) => l.startsWith("iq_"));
}

/**
 * demoToken waits for the demo user's token in the server's output: the
 * server prints it just after it starts listening, so it may trail /readyz.
 */
async function demoToken(): Promise<string> {
  const path = process.env.E2E_SERVER_LOG;
  if (!path) throw new Error("E2E_SERVER_LOG is not set");
  const deadline = Date.now() + 15_000;
  let log = "";
  while (Date.now() < deadline) {
    try {
      log = readFileSync(path, "utf8");
    } catch {
      log = "";
    }
    const t = demoTokenIn(log);
    if (t) return t;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no demo token in ${path} (is the server in demo mode?):\n${log.slice(-2000)}`);
}

/**
 * globalSetup mints the tokens the tests sign in with (the server is
 * already up: Playwright starts its webServer first), and reads the demo
 * user's, whose account has the demo mailbox. Workers inherit them through
 * the environment.
 */
export default async function globalSetup() {
  process.env.E2E_TOKEN = token("e2e", true);
  process.env.E2E_USER_TOKEN = token("e2e-user", false);
  process.env.E2E_DEMO_TOKEN = await demoToken();
}
