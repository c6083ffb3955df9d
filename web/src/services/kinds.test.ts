import { alertTitle, kindTitle } from "./kinds";

const kinds = [{ name: "export_user_data", title: "Export my data" }, { name: "sync_user_emails", title: "Full mailbox sync" }];

describe("kind names for people", () => {
  it("titles a kind, or shows it as it is while the kinds are unknown", () => {
    expect(kindTitle(kinds, "sync_user_emails")).toBe("Full mailbox sync");
    expect(kindTitle(undefined, "sync_user_emails")).toBe("sync_user_emails");
  });
  it("names a task's alert by its kind's title", () => {
    expect(alertTitle(kinds, "export user data completed")).toBe("Export my data: completed");
    expect(alertTitle(kinds, "sync user emails failed")).toBe("Full mailbox sync: failed");
    expect(alertTitle(kinds, "Reconnect a@example.com")).toBe("Reconnect a@example.com");
  });
});
