/// <reference types="vitest/config" />
import { writeFileSync } from "node:fs";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

// `npm run dev` serves the app on :5173 and sends API calls, the OpenAPI
// document and River UI to a running `inboxq serve` (INBOXQ_ADDR, default
// 127.0.0.1:8080). Event streams pass through the proxy unbuffered.
const api = `http://${process.env.INBOXQ_ADDR ?? "127.0.0.1:8080"}`;

// The build empties dist/, which also holds the committed .gitkeep that lets
// Go embed the directory before anyone runs Node: put it back.
const keepGitkeep: Plugin = {
  name: "inboxq-keep-gitkeep",
  apply: "build",
  closeBundle() {
    writeFileSync(new URL("./dist/.gitkeep", import.meta.url), "");
  },
};

export default defineConfig({
  plugins: [react(), keepGitkeep],
  server: {
    host: "127.0.0.1",
    proxy: { "/api": api, "/openapi.json": api, "/riverui": api, "/docs": api },
  },
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 700 },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/setupTests.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    // Tests prove order and outcome, not speed: a loaded 2-core machine
    // runs a typing test in 5 s that takes 2.5 s when idle.
    testTimeout: 30_000,
  },
});
