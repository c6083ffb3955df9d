import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { AccountsPage } from "./AccountsPage";

function json(body: unknown, status = 200) {
  const type = status >= 400 ? "application/problem+json" : "application/json";
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

let connectAnswer: () => Response;
let refreshAnswer: () => Response;
const requests: Request[] = [];

beforeEach(() => {
  requests.length = 0;
  vi.stubGlobal("scrollTo", vi.fn()); // navigate() scrolls; jsdom has no layout
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL) => {
      const req = input instanceof Request ? input : new Request(new URL(String(input), "http://localhost"));
      requests.push(req);
      const { pathname } = new URL(req.url);
      if (pathname === "/api/v1/accounts")
        return json({
          accounts: [
            { id: 1, email: "demo@inboxq.example", status: "connected", scopes: [], created_at: "2026-01-01T00:00:00Z", messages_total: 1500 },
            { id: 2, email: "old@example.com", status: "needs_reauth", scopes: [], created_at: "2026-01-01T00:00:00Z" },
          ],
        });
      if (pathname === "/api/v1/accounts/connect" && req.method === "POST") return connectAnswer();
      if (pathname === "/api/v1/accounts/1/refresh" && req.method === "POST") return refreshAnswer();
      return json({ title: "Not Found" }, 404);
    }),
  );
});

afterEach(() => {
  vi.unstubAllGlobals();
  window.history.replaceState(null, "", "/");
});

function renderAt(url: string) {
  window.history.replaceState(null, "", url);
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={qc}>
      <AccountsPage />
    </QueryClientProvider>,
  );
}

describe("AccountsPage", () => {
  it("lists the accounts with their status", async () => {
    renderAt("/accounts");
    expect(await screen.findByText("demo@inboxq.example")).toBeInTheDocument();
    expect(screen.getByText("Connected")).toBeInTheDocument();
    expect(screen.getByText("Needs reconnecting")).toBeInTheDocument();
    expect(screen.getByText("1,500")).toBeInTheDocument();
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("shows the callback's error until dismissed, which removes it from the URL", async () => {
    const user = userEvent.setup();
    renderAt("/accounts?error=consent_other_browser&error_description=Started+in+another+browser.&x=1");
    expect(screen.getByRole("alert")).toHaveTextContent("started in another browser or by someone else");
    await user.click(screen.getByRole("button", { name: "Dismiss" }));
    expect(window.location.search).toBe("?x=1");
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("says a mailbox was connected", () => {
    renderAt("/accounts?connected=x%40example.com");
    expect(screen.getByRole("status")).toHaveTextContent("Connected x@example.com.");
  });

  it("asks to connect with credentials and says why it cannot", async () => {
    const user = userEvent.setup();
    connectAnswer = () =>
      json({ title: "Conflict", status: 409, detail: "no Google OAuth client is configured (demo mode)" }, 409);
    renderAt("/accounts");
    await user.click(screen.getByRole("button", { name: "Connect a Gmail account" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "This server cannot connect Gmail accounts: no Google OAuth client is configured (demo mode).",
    );
    const connect = requests.find((r) => r.url.endsWith("/api/v1/accounts/connect"));
    expect(connect?.credentials).toBe("include");
  });

  it("refreshes a connected mailbox and opens its workflow, also one already under way", async () => {
    const user = userEvent.setup();
    const answer = (duplicate: boolean) => () =>
      json({ workflow: { id: 7, name: "Refresh demo@inboxq.example" }, duplicate }, duplicate ? 200 : 201);
    refreshAnswer = answer(false);
    renderAt("/accounts");
    await screen.findByText("demo@inboxq.example");
    // Only the connected account offers it.
    expect(screen.getAllByRole("button", { name: /^Refresh mailbox/ })).toHaveLength(1);
    await user.click(screen.getByRole("button", { name: "Refresh mailbox demo@inboxq.example" }));
    await vi.waitFor(() => expect(window.location.pathname).toBe("/workflows/7"));
    expect(window.location.search).toBe("");

    window.history.replaceState(null, "", "/accounts");
    refreshAnswer = answer(true);
    await user.click(screen.getByRole("button", { name: "Refresh mailbox demo@inboxq.example" }));
    await vi.waitFor(() => expect(window.location.search).toBe("?duplicate=1"));
    expect(window.location.pathname).toBe("/workflows/7");
  });

  it("says why a refresh did not start", async () => {
    const user = userEvent.setup();
    refreshAnswer = () => json({ title: "Unprocessable Entity", status: 422, detail: "the account needs reconnecting" }, 422);
    renderAt("/accounts");
    await user.click(await screen.findByRole("button", { name: "Refresh mailbox demo@inboxq.example" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Not refreshed. The account needs reconnecting.");
  });

  it("offers Reconnect only for an account that needs it, and it starts a consent", async () => {
    const user = userEvent.setup();
    connectAnswer = () => json({ title: "Conflict", status: 409, detail: "stop here" }, 409);
    renderAt("/accounts");
    await screen.findByText("old@example.com");
    const buttons = screen.getAllByRole("button", { name: "Reconnect" });
    expect(buttons).toHaveLength(1);
    expect(buttons[0]?.closest("tr")).toHaveAttribute("data-account", "old@example.com");
    await user.click(buttons[0]!);
    await screen.findByRole("alert");
    expect(requests.filter((r) => r.url.endsWith("/api/v1/accounts/connect"))).toHaveLength(1);
  });
});
