import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { KindInfo } from "../api/client";
import { StartWorkPage } from "./StartWorkPage";

const kinds: KindInfo[] = [
  { name: "bulk_archive_emails", title: "Archive messages", description: "Archives messages", args_schema: "BulkArchiveEmailsArgs", admin_only: false, queue: "bulk", priority: 2, max_attempts: 10 },
  { name: "sync_user_emails", title: "Full mailbox sync", description: "Syncs", args_schema: "SyncUserEmailsArgs", admin_only: false, queue: "sync", priority: 2, max_attempts: 10 },
];
const schemas = {
  BulkTarget: {
    type: "object",
    properties: {
      label: { type: "string", title: "Label", description: "Only messages with this Gmail label" },
      from: { type: "string", title: "From" },
    },
  },
  BulkArchiveEmailsArgs: {
    type: "object",
    required: ["account_id", "target"],
    properties: {
      account_id: { type: "integer", title: "Gmail account", description: "One of your connected Gmail accounts" },
      target: { $ref: "#/components/schemas/BulkTarget", title: "Which messages" },
    },
  },
  SyncUserEmailsArgs: {
    type: "object",
    required: ["account_id"],
    properties: { account_id: { type: "integer", title: "Gmail account", description: "One of your connected Gmail accounts" } },
  },
};

function json(body: unknown, status = 200) {
  const type = status >= 400 ? "application/problem+json" : "application/json";
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

type Counted = { account: string; target: Record<string, unknown> };

/** stubAPI answers the calls Start work makes; count-messages counts by label. */
function stubAPI(createAnswer?: () => Response, accountsAnswer?: () => Promise<Response>) {
  const counted: Counted[] = [];
  const created: unknown[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request ? input : new Request(new URL(String(input), "http://localhost"), init);
    const { pathname } = new URL(req.url);
    if (pathname === "/openapi.json") return json({ components: { schemas } });
    if (pathname === "/api/v1/task-kinds") return json({ kinds });
    if (pathname === "/api/v1/system/health") return json({ title: "Forbidden" }, 403);
    if (pathname === "/api/v1/accounts" && accountsAnswer) return accountsAnswer();
    if (pathname === "/api/v1/accounts")
      return json({ accounts: [{ id: 3, email: "me@example.com", status: "connected" }] });
    if (pathname === "/api/v1/accounts/3/labels")
      return json({
        labels: [
          { id: "INBOX", name: "Inbox", system: true, messages: 1 },
          { id: "CATEGORY_PROMOTIONS", name: "Promotions", system: true, messages: 243 },
          { id: "Label_1", name: "Receipts", system: false, messages: 0 },
        ],
      });
    const count = /^\/api\/v1\/accounts\/(\d+)\/messages\/count$/.exec(pathname);
    if (count && req.method === "POST") {
      const { target } = (await req.json()) as { target: Record<string, unknown> };
      counted.push({ account: count[1] ?? "", target });
      if (!Object.keys(target).length) return json({ title: "Unprocessable Entity", detail: "choose messages" }, 422);
      return json({ count: target.label === "CATEGORY_PROMOTIONS" ? 243 : 1 });
    }
    if (pathname === "/api/v1/tasks" && req.method === "POST") {
      created.push(await req.json());
      if (createAnswer) return createAnswer();
      return json({ id: 99, kind: "x", state: "pending" }, 201);
    }
    return json({ title: "Not Found" }, 404);
  });
  vi.stubGlobal("fetch", fetchMock);
  vi.stubGlobal("scrollTo", () => {}); // navigate() to the new task; jsdom has none
  return { counted, created, fetchMock };
}

function renderPage() {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={qc}>
      <StartWorkPage />
    </QueryClientProvider>,
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
  window.history.replaceState(null, "", "/");
});

describe("Start work's account field", () => {
  it("is a disabled select while the accounts load, never a number input that becomes a select", async () => {
    const user = userEvent.setup();
    let answer: (r: Response) => void = () => {};
    stubAPI(undefined, () => new Promise<Response>((resolve) => (answer = resolve)));
    renderPage();
    await screen.findByRole("option", { name: "Full mailbox sync" });
    await user.selectOptions(screen.getByLabelText("Kind"), "sync_user_emails");
    const loading = await screen.findByRole("combobox", { name: "Gmail account" });
    expect(loading).toBeDisabled();
    expect(loading).toHaveTextContent("Loading your accounts…");
    expect(screen.queryByRole("spinbutton", { name: "Gmail account" })).toBeNull();
    answer(json({ accounts: [{ id: 3, email: "me@example.com", status: "connected" }] }));
    await screen.findByRole("option", { name: "me@example.com" });
    expect(screen.getByRole("combobox", { name: "Gmail account" })).toBeEnabled();
  });

  it("says so when there is no account, and is a number input only when they cannot be listed", async () => {
    const user = userEvent.setup();
    stubAPI(undefined, async () => json({ accounts: [] }));
    const first = renderPage();
    await screen.findByRole("option", { name: "Full mailbox sync" });
    await user.selectOptions(screen.getByLabelText("Kind"), "sync_user_emails");
    await screen.findByRole("option", { name: "No connected account: connect one under Accounts" });
    expect(screen.getByRole("combobox", { name: "Gmail account" })).toBeDisabled();
    first.unmount();
    vi.unstubAllGlobals();

    stubAPI(undefined, async () => json({ title: "Internal Server Error", status: 500 }, 500));
    renderPage();
    await screen.findByRole("option", { name: "Full mailbox sync" });
    await user.selectOptions(screen.getByLabelText("Kind"), "sync_user_emails");
    expect(await screen.findByRole("spinbutton", { name: "Gmail account" })).toBeEnabled();
  });
});

describe("Start work for a bulk kind", () => {
  it("previews the count, debounced, and starts only once it is confirmed", async () => {
    const user = userEvent.setup();
    const { counted, created } = stubAPI();
    renderPage();

    await screen.findByRole("option", { name: "Archive messages" });
    await user.selectOptions(screen.getByLabelText("Kind"), "bulk_archive_emails");
    const start = screen.getByRole("button", { name: "Start" });
    const understand = screen.getByLabelText("I understand");
    expect(screen.getByRole("status")).toHaveTextContent("Choose an account");
    expect(understand).toBeDisabled();
    expect(start).toBeDisabled();

    const account = await screen.findByRole("option", { name: "me@example.com" });
    await user.selectOptions(screen.getByRole("combobox", { name: "Gmail account" }), account);
    expect(screen.getByRole("group", { name: "Which messages" })).toBeInTheDocument();
    // An empty target selects nothing in particular: the server's 422.
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("Choose which messages"));
    expect(understand).toBeDisabled();

    // The label is picked from the account's real labels, by name.
    const before = counted.length;
    const label = await screen.findByRole("combobox", { name: "Label" });
    await screen.findByRole("option", { name: "Promotions (243)" });
    expect(screen.getByRole("option", { name: "Receipts" })).toBeInTheDocument();
    await user.selectOptions(label, "Promotions (243)");
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("This will archive 243 messages."));
    const typed = counted.slice(before);
    expect(typed).toEqual([{ account: "3", target: { label: "CATEGORY_PROMOTIONS" } }]);
    expect(start).toBeDisabled();

    await user.click(understand);
    expect(understand).toBeChecked();
    expect(start).toBeEnabled();

    // Changing the target asks again, for the new count.
    await user.selectOptions(label, "Inbox (1)");
    expect(start).toBeDisabled();
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("This will archive 1 message."));
    expect(understand).not.toBeChecked();
    expect(start).toBeDisabled();

    await user.click(understand);
    await user.click(start);
    await waitFor(() => expect(created).toHaveLength(1));
    expect(created[0]).toEqual({ kind: "bulk_archive_emails", args: { account_id: 3, target: { label: "INBOX" } } });
  });

  it("leaves other kinds without a preview or confirmation", async () => {
    const user = userEvent.setup();
    const { counted } = stubAPI();
    renderPage();
    await screen.findByRole("option", { name: "Full mailbox sync" });
    await user.selectOptions(screen.getByLabelText("Kind"), "sync_user_emails");
    expect(screen.queryByLabelText("I understand")).not.toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Start" })).toBeEnabled();
    expect(counted).toHaveLength(0);
  });
});

describe("Start work refused for a limit", () => {
  it("says why beside Start, with the wait in words", async () => {
    const user = userEvent.setup();
    stubAPI(
      () =>
        new Response(
          JSON.stringify({ title: "Too Many Requests", status: 429, detail: "you may start at most 600 tasks a minute; try again in 12s" }),
          { status: 429, headers: { "Content-Type": "application/problem+json", "Retry-After": "12" } },
        ),
    );
    renderPage();
    await screen.findByRole("option", { name: "Full mailbox sync" });
    await user.selectOptions(screen.getByLabelText("Kind"), "sync_user_emails");
    const account = await screen.findByRole("option", { name: "me@example.com" });
    await user.selectOptions(screen.getByRole("combobox", { name: "Gmail account" }), account);
    const start = screen.getByRole("button", { name: "Start" });
    await user.click(start);

    const note = await screen.findByRole("alert");
    expect(note).toHaveTextContent("Slow down: you may start at most 600 tasks a minute. Try again in 12 seconds.");
    expect(note.parentElement).toBe(start.parentElement); // beside the button
    expect(screen.getAllByRole("alert")).toHaveLength(1); // and not again above the form
  });
});
