import { describe, expect, it } from "vitest";
import { band, effect, leansText, parseKind, parseSort, share } from "./senders";

describe("senders", () => {
  it("reads the sort and kind from the URL, with defaults", () => {
    expect(parseSort(null)).toBe("score");
    expect(parseSort("volume")).toBe("volume");
    expect(parseSort("score_desc")).toBe("score_desc");
    expect(parseSort("nonsense")).toBe("score");
    expect(parseKind("domain")).toBe("domain");
    expect(parseKind("x")).toBe("address");
  });

  it("bands scores where classification leans", () => {
    expect(band(0)).toBe("poor");
    expect(band(20)).toBe("poor");
    expect(band(21)).toBe("mixed");
    expect(band(79)).toBe("mixed");
    expect(band(80)).toBe("good");
  });

  it("says which way a factor pushed", () => {
    expect(effect(0)).toBe("no effect");
    expect(effect(0.01)).toBe("no effect");
    expect(effect(-2.08)).toBe("strongly lowers it");
    expect(effect(0.8)).toBe("raises it");
    expect(effect(0.2)).toBe("slightly raises it");
  });

  it("explains leaning and shares", () => {
    expect(leansText("spam")).toContain("goes to Spam");
    expect(leansText("not_spam")).toContain("stays out of Spam");
    expect(leansText("none")).toContain("does not lean");
    expect(share(3, 12)).toBe("3 of 12 (25%)");
    expect(share(0, 0)).toBe("none");
  });
});
