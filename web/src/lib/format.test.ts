import { count, plural, shortDate } from "./format";

describe("counts for people", () => {
  it("says one thing in the singular and groups thousands", () => {
    expect(plural(1, "call")).toBe("1 call");
    expect(plural(0, "account")).toBe("0 accounts");
    expect(plural(2809, "message")).toBe("2,809 messages");
    expect(plural(3, "failed task")).toBe("3 failed tasks");
    expect(count(1234567)).toBe("1,234,567");
  });
});

describe("shortDate", () => {
  const now = new Date(2026, 4, 20, 15, 0).getTime();
  it("shows the time for today, the day for this year, the year before", () => {
    expect(shortDate(new Date(2026, 4, 20, 9, 5).toISOString(), now)).toMatch(/09:05|9:05/);
    expect(shortDate(new Date(2026, 1, 3, 9, 5).toISOString(), now)).not.toMatch(/2026/);
    expect(shortDate(new Date(2026, 1, 3, 9, 5).toISOString(), now)).toMatch(/3/);
    expect(shortDate(new Date(2024, 1, 3).toISOString(), now)).toMatch(/2024/);
  });
});
