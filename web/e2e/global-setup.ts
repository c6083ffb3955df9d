import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

function token(user: string, admin: boolean): string {
  const out = execFileSync(`${root}bin/inboxq`, ["token", "create", "--user", user, ...(admin ? ["--admin"] : [])], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, DATABASE_URL: process.env.E2E_DATABASE_URL },
  });
  const first = out.split("\n")[0]?.trim() ?? "";
  if (!first.startsWith("iq_")) throw new Error(`inboxq token create printed no token: ${out}`);
  return first;
}

/**
 * globalSetup mints the tokens the tests sign in with (the server is
 * already up: Playwright starts its webServer first). Workers inherit them
 * through the environment.
 */
export default function globalSetup() {
  process.env.E2E_TOKEN = token("e2e", true);
  process.env.E2E_USER_TOKEN = token("e2e-user", false);
}
