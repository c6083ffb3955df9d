import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { Workflow } from "../services/workflows";
import { WorkflowDetailPage } from "./WorkflowDetailPage";

function json(body: unknown, status = 200) {
  const type = status >= 400 ? "application/problem+json" : "application/json";
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

const base = { kind: "update_analytics", when: "success" as const, attempt: 1, max_attempts: 3, waiting: false };

// A failed step under policy stop: what waited for it was skipped.
const failed: Workflow = {
  id: 3,
  name: "Nightly",
  policy: "stop",
  state: "failed",
  run: 1,
  created_at: "2026-01-01T00:00:00Z",
  progress: { total: 3, completed: 1, failed: 1, cancelled: 0, skipped: 1, running: 0, waiting: 0, percent: 100 },
  steps: [
    { ...base, name: "fetch", task_id: 30, deps: [], state: "completed", outcome: "completed", percent: 100 },
    { ...base, name: "score", task_id: 31, deps: ["fetch"], state: "failed", outcome: "failed", percent: 100, error: "boom" },
    { ...base, name: "report", task_id: 32, deps: ["score"], state: "cancelled", outcome: "skipped", percent: 100 },
  ],
};

let retryAnswer: () => Response;

beforeEach(() => {
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL) => {
      const req = input instanceof Request ? input : new Request(new URL(String(input), "http://localhost"));
      const { pathname } = new URL(req.url);
      if (pathname === "/api/v1/workflows/3") return json(failed);
      if (pathname === "/api/v1/workflows/3/retry" && req.method === "POST") return retryAnswer();
      return json({ title: "Not Found", status: 404, detail: "workflow not found" }, 404);
    }),
  );
});

afterEach(() => vi.unstubAllGlobals());

function renderPage(id: number) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={qc}>
      <WorkflowDetailPage id={id} />
    </QueryClientProvider>,
  );
}

describe("WorkflowDetailPage", () => {
  it("draws each step with its state, link, deps and error; skipped reads apart", async () => {
    renderPage(3);
    const steps = await screen.findByRole("list", { name: "Steps" });
    const items = within(steps).getAllByRole("listitem");
    expect(items.map((li) => li.getAttribute("data-step"))).toEqual(["fetch", "score", "report"]);
    expect(items.map((li) => li.querySelector(".badge")?.textContent)).toEqual(["completed", "failed", "skipped"]);
    expect(within(steps).getByRole("link", { name: "score" })).toHaveAttribute("href", "/tasks/31");
    expect(items[1]).toHaveTextContent("waits for: fetch");
    expect(items[1]).toHaveTextContent("boom");
    expect(items[2]).toHaveClass("status-skipped");
    // Columns by depth: each step right of the one it waits for.
    const left = items.map((li) => parseFloat(li.style.left));
    expect(left[0]).toBeLessThan(left[1]!);
    expect(left[1]).toBeLessThan(left[2]!);
    expect(screen.getByRole("progressbar", { name: "Workflow progress" })).toHaveAttribute("aria-valuenow", "100");
    expect(screen.getByRole("button", { name: "Cancel workflow" })).toBeDisabled();
  });

  it("shows why a retry was refused", async () => {
    const user = userEvent.setup();
    retryAnswer = () => json({ title: "Conflict", status: 409, detail: "workflow 3 is not finished" }, 409);
    renderPage(3);
    await user.click(await screen.findByRole("button", { name: "Retry workflow" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("The action failed. Workflow 3 is not finished.");
  });

  it("says when there is no such workflow to see", async () => {
    renderPage(4);
    expect(await screen.findByRole("alert")).toHaveTextContent("There is no workflow #4 that you can see.");
  });
});
