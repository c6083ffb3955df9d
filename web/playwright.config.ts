import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { defineConfig } from "@playwright/test";

// End-to-end tests run the real server (bin/inboxq, with web/dist embedded:
// `make web build` first) on a free port and a database of its own, which
// e2e/serve.sh drops and recreates on every run. Chromium is Debian's
// (apt-get install chromium): nothing is downloaded.
//
// This file is loaded by the runner and again by each worker; the values
// below are chosen once, in the runner, and reach the workers through the
// environment they inherit.
const env = process.env;
env.E2E_PORT ??= execFileSync(
  process.execPath,
  ["-e", "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"],
  { encoding: "utf8" },
).trim();
// The database and the server's data directory belong to this checkout and
// this run: two checkouts, or a run beside `make run`, never share them. The
// database is named after the checkout's path and reset on each run; the
// data directory (exports) sits in test-results, which Playwright empties.
env.E2E_DB ??= `inboxq_e2e_${createHash("sha256").update(new URL("..", import.meta.url).pathname).digest("hex").slice(0, 10)}`;
env.E2E_DATA_DIR ??= new URL("./test-results/data", import.meta.url).pathname;
env.E2E_DATABASE_URL ??= `postgres://127.0.0.1:5432/${env.E2E_DB}?sslmode=disable`;
// A throwaway key for the OAuth tokens the server seals.
env.E2E_SECRET_KEY ??= randomBytes(32).toString("base64");
// Where e2e/serve.sh tees the server's stdout: global setup reads the demo
// user's token there.
env.E2E_SERVER_LOG ??= new URL("./test-results/server.log", import.meta.url).pathname;

const CHROMIUM = env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const BASE = `http://127.0.0.1:${env.E2E_PORT}`;

export default defineConfig({
  testDir: "./e2e",
  testMatch: /.*\.spec\.ts/,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!env.CI,
  retries: 0,
  reporter: [["list"]],
  outputDir: "test-results",
  globalSetup: "./e2e/global-setup.ts",
  use: {
    baseURL: BASE,
    browserName: "chromium",
    headless: true,
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
    trace: "off",
    screenshot: "only-on-failure",
  },
  webServer: {
    command: "bash web/e2e/serve.sh",
    cwd: "..",
    url: `${BASE}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "ignore",
    stderr: "pipe",
    gracefulShutdown: { signal: "SIGTERM", timeout: 10_000 },
    env: {
      E2E_DB: env.E2E_DB,
      E2E_SERVER_LOG: env.E2E_SERVER_LOG,
      DATABASE_URL: env.E2E_DATABASE_URL,
      INBOXQ_ADDR: `127.0.0.1:${env.E2E_PORT}`,
      INBOXQ_LOG_FORMAT: "text",
      INBOXQ_LOG_LEVEL: "warn",
      INBOXQ_SHUTDOWN_TIMEOUT: "2s",
      INBOXQ_SECRET_KEY: env.E2E_SECRET_KEY,
      INBOXQ_DATA_DIR: env.E2E_DATA_DIR,
    },
  },
});
