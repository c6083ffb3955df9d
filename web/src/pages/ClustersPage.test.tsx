import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ClustersPage } from "./ClustersPage";

function json(body: unknown, status = 200) {
  const type = status >= 400 ? "application/problem+json" : "application/json";
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

const cluster = {
  id: "1.0123456789abcdef",
  account_id: 1,
  key: "from:news@brand.example",
  label: "Brand Weekly · digest",
  sender: "news@brand.example",
  terms: ["digest"],
  size: 42,
  unread: 21,
  first: "2024-03-02T10:00:00Z",
  last: "2026-11-01T00:00:00Z",
  updated_at: "2026-11-01T00:00:00Z",
  examples: ["Your November digest"],
};

const bodies: { path: string; body: unknown }[] = [];

beforeEach(() => {
  bodies.length = 0;
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL) => {
      const req = input instanceof Request ? input : new Request(new URL(String(input), "http://localhost"));
      const { pathname } = new URL(req.url);
      if (req.method === "POST") bodies.push({ path: pathname, body: await req.json() });
      if (pathname === "/api/v1/accounts")
        return json({ accounts: [{ id: 1, email: "demo@inboxq.example", status: "connected", scopes: [], created_at: "2026-01-01T00:00:00Z" }] });
      if (pathname === "/api/v1/clusters") return json({ clusters: [cluster] });
      if (pathname === "/api/v1/accounts/1/messages/count") return json({ count: 40 });
      if (pathname === "/api/v1/tasks" && req.method === "POST") return json({ id: 77, kind: "bulk_archive_emails", state: "pending" }, 201);
      return json({ title: "Not Found" }, 404);
    }),
  );
});

afterEach(() => vi.unstubAllGlobals());

function renderPage() {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={qc}>
      <ClustersPage />
    </QueryClientProvider>,
  );
}

describe("ClustersPage", () => {
  it("lists clusters with their size, dates, unread share and examples", async () => {
    renderPage();
    expect(await screen.findByText("Brand Weekly · digest")).toBeInTheDocument();
    expect(screen.getByText("42")).toBeInTheDocument();
    expect(screen.getByText("50% unread")).toBeInTheDocument();
    expect(screen.getByText("Mar 2024 – Nov 2026")).toBeInTheDocument();
    expect(screen.getByText("Your November digest")).toBeInTheDocument();
  });

  it("archives a cluster only after its count is previewed and confirmed", async () => {
    const user = userEvent.setup();
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Archive all…" }));
    const confirm = await screen.findByRole("button", { name: "Archive 40 messages" });
    expect(bodies).toEqual([{ path: "/api/v1/accounts/1/messages/count", body: { target: { cluster_id: cluster.id } } }]);
    await user.click(confirm);
    expect(await screen.findByRole("link", { name: "task #77" })).toHaveAttribute("href", "/tasks/77");
    expect(bodies[1]).toEqual({
      path: "/api/v1/tasks",
      body: { kind: "bulk_archive_emails", args: { account_id: 1, target: { cluster_id: cluster.id } } },
    });
  });

  it("asks again rather than archive when kept", async () => {
    const user = userEvent.setup();
    renderPage();
    await user.click(await screen.findByRole("button", { name: "Archive all…" }));
    await user.click(await screen.findByRole("button", { name: "Keep them" }));
    expect(screen.getByRole("button", { name: "Archive all…" })).toBeInTheDocument();
    expect(bodies.filter((b) => b.path === "/api/v1/tasks")).toEqual([]);
  });
});
