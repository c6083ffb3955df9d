import { count, plural } from "./format";

describe("counts for people", () => {
  it("says one thing in the singular and groups thousands", () => {
    expect(plural(1, "call")).toBe("1 call");
    expect(plural(0, "account")).toBe("0 accounts");
    expect(plural(2809, "message")).toBe("2,809 messages");
    expect(plural(3, "failed task")).toBe("3 failed tasks");
    expect(count(1234567)).toBe("1,234,567");
  });
});
