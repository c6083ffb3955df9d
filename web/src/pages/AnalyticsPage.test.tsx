import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import { AnalyticsPage } from "./AnalyticsPage";

// uPlot draws on a canvas, which jsdom lacks; the charts' data is tested in
// services/analytics.test.ts.
vi.mock("../components/StackedDaysChart", () => ({ StackedDaysChart: () => null, DailyLineChart: () => null }));

function json(body: unknown, status = 200) {
  const type = status >= 400 ? "application/problem+json" : "application/json";
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

const zero = { primary: 0, social: 0, promotions: 0, updates: 0, forums: 0, newsletters: 0, spam: 0, unclassified: 0 };
const mine = {
  from: "2026-11-05",
  to: "2026-12-04",
  days: [
    { day: "2026-12-03", received: 5, unread: 2, classified: 4, categories: { ...zero, primary: 3, spam: 1, unclassified: 1 } },
    { day: "2026-12-04", received: 2, unread: 0, classified: 2, categories: { ...zero, newsletters: 2 } },
  ],
  summary: { messages: 1200, unread: 300, classified: 1044, coverage: 0.87, bulk_messages: 40 },
  senders: [{ rank: 1, sender: "News <news@example.com>", messages: 400, unread: 100, last_at: "2026-12-04T08:00:00Z" }],
  bulk: [{ day: "2026-12-03", kind: "bulk_archive_emails", tasks: 2, messages: 40 }],
  accounts: [{ id: 1, email: "demo@inboxq.example", status: "connected", last_synced_at: "2026-12-04T08:00:00Z", seconds_since_sync: 60 }],
};
const system = {
  from: "2026-11-05",
  to: "2026-12-04",
  days: [{ day: "2026-12-04", completed: 9, failed: 1, cancelled: 0, failure_rate: 0.1, quota_units: 120, llm_requests: 0, llm_tokens: 0 }],
  tasks: [
    { day: "2026-12-04", kind: "sync_user_emails", completed: 9, failed: 1, cancelled: 0, failure_rate: 0.1, run_p50_ms: 900, run_p95_ms: 4200, wait_p50_ms: 10, wait_p95_ms: 40, quota_units: 120 },
  ],
};

function stub(admin: boolean) {
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL) => {
      const req = input instanceof Request ? input : new Request(new URL(String(input), "http://localhost"));
      const { pathname } = new URL(req.url);
      if (pathname === "/api/v1/analytics") return json(mine);
      if (pathname === "/api/v1/analytics/system") return admin ? json(system) : json({ title: "Forbidden" }, 403);
      if (pathname === "/api/v1/system/health") return admin ? json({ title: "Not Found" }, 404) : json({ title: "Forbidden" }, 403);
      return json({ title: "Not Found" }, 404);
    }),
  );
}

afterEach(() => vi.unstubAllGlobals());

function renderPage() {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={qc}>
      <AnalyticsPage />
    </QueryClientProvider>,
  );
}

describe("AnalyticsPage", () => {
  it("shows a person's summary, categories, senders and bulk actions, and no system section", async () => {
    stub(false);
    renderPage();
    expect(await screen.findByTestId("messages")).toHaveTextContent("1,200");
    expect(screen.getByTestId("coverage")).toHaveTextContent("87 % (1,044 of 1,200)");
    expect(screen.getByTestId("last-sync")).toHaveTextContent("demo@inboxq.example");
    expect(screen.getByRole("rowheader", { name: "Primary" })).toBeInTheDocument();
    expect(screen.getByRole("rowheader", { name: "Not classified yet" })).toBeInTheDocument();
    expect(screen.queryByRole("rowheader", { name: "Social" })).not.toBeInTheDocument();
    expect(screen.getByText("News <news@example.com>")).toBeInTheDocument();
    expect(screen.getByText("Archived: 40 messages in 2 tasks")).toBeInTheDocument();
    expect(screen.getByText(/7 messages received and still stored, 2 unread/)).toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "System" })).not.toBeInTheDocument();
  });

  it("adds tasks per kind for admins", async () => {
    stub(true);
    renderPage();
    expect(await screen.findByRole("heading", { name: "System" })).toBeInTheDocument();
    const table = screen.getByTestId("task-kinds");
    expect(table).toHaveTextContent("sync_user_emails");
    expect(table).toHaveTextContent("10 %");
    expect(table).toHaveTextContent("4 s");
  });
});
