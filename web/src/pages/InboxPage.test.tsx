import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { InboxPage } from "./InboxPage";

function json(body: unknown, status = 200) {
  const type = status >= 400 ? "application/problem+json" : "application/json";
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

const at = "2026-01-01T10:00:00Z";
const spam = {
  id: "1.a",
  account_id: 1,
  gmail_id: "a",
  thread_id: "a",
  from: "Prize Desk <win@prizes.example>",
  to: "demo@inboxq.example",
  subject: "You won a cruise",
  snippet: "Claim now",
  date: at,
  labels: ["INBOX", "UNREAD"],
  unread: true,
  category: "spam",
  source: "model",
  confidence: 0.97,
};

let accounts: unknown[];
let feedback: () => Response;
const requests: Request[] = [];

function countsBody() {
  const cats = ["primary", "social", "promotions", "updates", "forums", "newsletters", "spam", "unclassified"];
  const n: Record<string, [number, number]> = { primary: [5, 2], spam: [1, 1] };
  return {
    categories: cats.map((category) => ({ category, messages: n[category]?.[0] ?? 0, unread: n[category]?.[1] ?? 0 })),
    total: 6,
  };
}

beforeEach(() => {
  requests.length = 0;
  accounts = [{ id: 1, email: "demo@inboxq.example", status: "connected", scopes: [], created_at: at }];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL) => {
      const req = input instanceof Request ? input : new Request(new URL(String(input), "http://localhost"));
      requests.push(req);
      const { pathname, searchParams } = new URL(req.url);
      if (pathname === "/api/v1/accounts") return json({ accounts });
      if (pathname === "/api/v1/messages/counts") return json(countsBody());
      if (pathname === "/api/v1/classification/rules") return json({ rules: [] });
      if (pathname === "/api/v1/messages") {
        if (searchParams.get("category") !== "spam") return json({ messages: [] });
        return json({ messages: searchParams.get("q") ? [] : [spam] });
      }
      if (pathname === "/api/v1/messages/1.a/feedback" && req.method === "POST") return feedback();
      if (pathname === "/api/v1/messages/feedback" && req.method === "POST") return json({ updated: 1, missing: [], task_id: 78 });
      if (pathname === "/api/v1/messages/1.a") return json({ ...spam, why: "The spam model scored it as spam.", features: [] });
      if (pathname === "/api/v1/tasks/77")
        return json({
          id: 77,
          kind: "reclassify_with_feedback",
          queue: "classify",
          priority: 2,
          state: "completed",
          attempt: 1,
          max_attempts: 3,
          errors: [],
          args: {},
          created_at: at,
          scheduled_at: at,
          wait_seconds: 0,
          run_seconds: 1,
          result: { corrections: 1, model_version: 1, rules: 0, scanned: 6, moved: 12 },
        });
      return json({ title: "Not Found", status: 404, detail: "no such thing" }, 404);
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
      <InboxPage />
    </QueryClientProvider>,
  );
}

const nav = () => screen.getByRole("navigation", { name: "Categories" });

describe("InboxPage", () => {
  it("lists the categories with their counts, and a category's messages with what decided", async () => {
    renderAt("/inbox?category=spam");
    const link = await within(await screen.findByRole("navigation", { name: "Categories" })).findByRole("link", {
      name: "Spam, 1 unread, 1 message",
    });
    expect(link).toHaveAttribute("aria-current", "true");
    // Not classified yet shows only when there is such mail.
    expect(within(nav()).queryByText("Not classified yet")).not.toBeInTheDocument();
    const row = (await screen.findByRole("button", { name: "You won a cruise" })).closest("li") as HTMLElement;
    expect(within(row).getByText("Spam model")).toBeInTheDocument();
    expect(within(row).getByText("Prize Desk")).toBeInTheDocument();
    expect(within(row).getByRole("combobox", { name: "Category of “You won a cruise”" })).toHaveValue("spam");
  });

  it("moves a message at once, and puts it back with the reason when the server refuses", async () => {
    const user = userEvent.setup();
    let answer: (r: Response) => void = () => {};
    feedback = () => {
      throw new Error("unused");
    };
    const pending = new Promise<Response>((resolve) => (answer = resolve));
    const fetchMock = vi.mocked(globalThis.fetch);
    const base = fetchMock.getMockImplementation();
    fetchMock.mockImplementation(async (input) => {
      const req = input as Request;
      if (new URL(req.url).pathname === "/api/v1/messages/1.a/feedback") {
        requests.push(req);
        return pending;
      }
      return base!(input);
    });
    renderAt("/inbox?category=spam");
    const picker = await screen.findByRole("combobox", { name: "Category of “You won a cruise”" });
    await user.selectOptions(picker, "primary");

    expect(picker).toHaveValue("primary");
    const row = picker.closest("li") as HTMLElement;
    expect(within(row).getByText("You")).toBeInTheDocument();
    expect(within(nav()).getByRole("link", { name: "Primary, 3 unread, 6 messages" })).toBeInTheDocument();
    expect(within(nav()).getByRole("link", { name: "Spam, 0 messages" })).toBeInTheDocument();

    answer(json({ title: "Unprocessable Entity", status: 422, detail: "the message is being deleted" }, 422));
    expect(await screen.findByRole("alert")).toHaveTextContent("Not moved. The message is being deleted.");
    expect(picker).toHaveValue("spam");
    expect(within(row).getByText("Spam model")).toBeInTheDocument();
    expect(within(nav()).getByRole("link", { name: "Spam, 1 unread, 1 message" })).toBeInTheDocument();
    const sent = requests.find((r) => r.url.endsWith("/feedback"));
    expect(await sent?.clone().json()).toEqual({ category: "primary" });
  });

  it("says what learning from a correction moved, and offers a rule for the sender", async () => {
    const user = userEvent.setup();
    feedback = () => json({ message: { ...spam, category: "primary", source: "person", confidence: 1 }, task_id: 77 });
    renderAt("/inbox?category=spam");
    const picker = await screen.findByRole("combobox", { name: "Category of “You won a cruise”" });
    await user.selectOptions(picker, "primary");
    expect(await screen.findByText("Moved “You won a cruise” to Primary.")).toBeInTheDocument();
    expect(await screen.findByText(/Learned from your correction: 12 other messages moved\./)).toBeInTheDocument();

    feedback = () =>
      json({
        message: { ...spam, category: "primary", source: "person", confidence: 1 },
        rule: { id: 5, sender: "win@prizes.example", category: "primary", created_at: at },
        task_id: 77,
      });
    await user.click(screen.getByRole("button", { name: "Always for this sender" }));
    expect(await screen.findByText(/Mail from win@prizes\.example now always goes to Primary/)).toBeInTheDocument();
    const sent = requests.filter((r) => r.url.endsWith("/feedback"));
    expect(await sent.at(-1)?.clone().json()).toEqual({ category: "primary", always: "sender" });
  });

  it("Undo removes the correction, showing the classifier's category again at once", async () => {
    const user = userEvent.setup();
    feedback = () => json({ message: { ...spam, category: "primary", source: "person", confidence: 1 }, task_id: 77 });
    renderAt("/inbox?category=spam");
    const picker = await screen.findByRole("combobox", { name: "Category of “You won a cruise”" });
    await user.selectOptions(picker, "primary");
    await screen.findByText("Moved “You won a cruise” to Primary.");
    await user.click(screen.getByRole("button", { name: "Undo" }));
    expect(picker).toHaveValue("spam");
    expect(await screen.findByText("Removed your correction: “You won a cruise” is in Spam again.")).toBeInTheDocument();
    expect(screen.queryByText(/^Moved /)).not.toBeInTheDocument();
    const cleared = requests.find((r) => new URL(r.url).pathname === "/api/v1/messages/feedback");
    expect(await cleared?.clone().json()).toEqual({ ids: ["1.a"], category: "clear" });
  });

  it("says what was searched when nothing matches", async () => {
    const user = userEvent.setup();
    renderAt("/inbox?category=spam");
    await user.type(await screen.findByLabelText("Search in Spam"), "zzqxv");
    expect(await screen.findByText("No messages in Spam match “zzqxv”.")).toBeInTheDocument();
    expect(requests.some((r) => new URL(r.url).searchParams.get("q") === "zzqxv")).toBe(true);
  });

  it("sends a user without an account to Accounts", async () => {
    accounts = [];
    renderAt("/inbox");
    expect(await screen.findByText("No Gmail account connected yet.")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Connect one in Accounts" })).toHaveAttribute("href", "/accounts");
  });
});
