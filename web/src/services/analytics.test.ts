import { describe, expect, it } from "vitest";
import { byKind, dateRange, parseRange, percent, stacked, totals, type MailDay, type TaskDay } from "./analytics";

const zero = { primary: 0, social: 0, promotions: 0, updates: 0, forums: 0, newsletters: 0, spam: 0, unclassified: 0 };
const day = (d: string, c: Partial<typeof zero>): MailDay => {
  const categories = { ...zero, ...c };
  const received = Object.values(categories).reduce((a, b) => a + b, 0);
  return { day: d, received, unread: 0, classified: received - categories.unclassified, categories };
};

describe("stacked", () => {
  it("makes each series the top of its band, in SERIES order", () => {
    const data = stacked([day("2026-11-01", { primary: 2, spam: 1 }), day("2026-11-02", { social: 3, unclassified: 4 })]);
    expect(data[0]).toEqual([Date.UTC(2026, 10, 1) / 1000, Date.UTC(2026, 10, 2) / 1000]);
    expect(data[1]).toEqual([2, 0]); // primary
    expect(data[2]).toEqual([2, 3]); // + social
    expect(data[7]).toEqual([3, 3]); // + spam
    expect(data[8]).toEqual([3, 7]); // + unclassified: the day's total
    expect(data).toHaveLength(9);
  });
});

describe("totals and percent", () => {
  it("sums categories over days", () => {
    const t = totals([day("2026-11-01", { primary: 2 }), day("2026-11-02", { primary: 1, forums: 5 })]);
    expect(t.primary).toBe(3);
    expect(t.forums).toBe(5);
    expect(t.spam).toBe(0);
  });
  it("renders shares", () => {
    expect(percent(1)).toBe("100 %");
    expect(percent(0.874)).toBe("87 %");
    expect(percent(0.031)).toBe("3.1 %");
    expect(percent(0)).toBe("0 %");
  });
});

describe("ranges", () => {
  it("ends today and counts both ends", () => {
    expect(dateRange(30, Date.UTC(2026, 11, 4, 9))).toEqual({ from: "2026-11-05", to: "2026-12-04" });
    expect(dateRange(1, Date.UTC(2026, 11, 4, 9))).toEqual({ from: "2026-12-04", to: "2026-12-04" });
  });
  it("accepts only the offered ranges", () => {
    expect(parseRange("90")).toBe(90);
    expect(parseRange("12")).toBe(30);
    expect(parseRange(null)).toBe(30);
  });
});

describe("byKind", () => {
  it("adds counts, keeps the worst p95, and rates failures", () => {
    const t = (kind: string, completed: number, failed: number, p95: number): TaskDay => ({
      day: "2026-11-01",
      kind,
      completed,
      failed,
      cancelled: 0,
      failure_rate: 0,
      run_p50_ms: 1,
      run_p95_ms: p95,
      wait_p50_ms: 1,
      wait_p95_ms: p95,
      quota_units: 5,
    });
    const rows = byKind([t("sync_user_emails", 3, 1, 200), t("sync_user_emails", 5, 1, 900), t("update_analytics", 1, 0, 10)]);
    expect(rows.map((r) => r.kind)).toEqual(["sync_user_emails", "update_analytics"]);
    expect(rows[0]).toMatchObject({ completed: 8, failed: 2, runP95: 900, quota: 10, failureRate: 0.2 });
  });
});
