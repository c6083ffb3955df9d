import { describe, expect, it } from "vitest";
import { archiveTask, clusterTask, dateSpan, unreadShare } from "./clusters";

describe("clusters", () => {
  it("says the unread share without claiming all or nothing wrongly", () => {
    expect(unreadShare({ size: 4, unread: 1 })).toBe("25% unread");
    expect(unreadShare({ size: 1000, unread: 1 })).toBe("1% unread");
    expect(unreadShare({ size: 1000, unread: 999 })).toBe("99% unread");
    expect(unreadShare({ size: 3, unread: 3 })).toBe("100% unread");
    expect(unreadShare({ size: 3, unread: 0 })).toBe("0% unread");
  });

  it("spans months, once when they are the same", () => {
    expect(dateSpan("2024-03-02T10:00:00Z", "2026-11-01T00:00:00Z")).toBe("Mar 2024 – Nov 2026");
    expect(dateSpan("2026-11-01T00:00:00Z", "2026-11-30T00:00:00Z")).toBe("Nov 2026");
  });

  it("archives a cluster with its id as the bulk target", () => {
    expect(archiveTask({ id: "3.0123456789abcdef", account_id: 3 })).toEqual({
      kind: "bulk_archive_emails",
      args: { account_id: 3, target: { cluster_id: "3.0123456789abcdef" } },
    });
    expect(clusterTask(3)).toEqual({ kind: "cluster_user_emails", args: { account_id: 3 } });
  });
});
