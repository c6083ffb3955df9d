import { layoutGraph, stepColumns, stepDepths } from "./workflowGraph";

// The refresh-mailbox workflow after classify fanned out into two batches.
const refresh = [
  { name: "sync", deps: [] },
  { name: "classify", deps: ["sync"] },
  { name: "reputation", deps: ["classify", "classify-1", "classify-2"] },
  { name: "analytics", deps: ["classify", "classify-1", "classify-2"] },
  { name: "classify-1", deps: ["classify"] },
  { name: "classify-2", deps: ["classify"] },
];

describe("stepDepths", () => {
  it("is 1 + the deepest dep", () => {
    expect(Object.fromEntries(stepDepths(refresh))).toEqual({
      sync: 1,
      classify: 2,
      "classify-1": 3,
      "classify-2": 3,
      reputation: 4,
      analytics: 4,
    });
  });

  it("takes the longest path, not the nearest dep", () => {
    const d = stepDepths([
      { name: "a" },
      { name: "b", deps: ["a"] },
      { name: "c", deps: ["b"] },
      { name: "d", deps: ["a", "c"] },
    ]);
    expect(d.get("d")).toBe(4);
  });

  it("copes with null deps, unknown deps and cycles", () => {
    const d = stepDepths([
      { name: "a", deps: null },
      { name: "b", deps: ["missing", "a"] },
      { name: "x", deps: ["y"] },
      { name: "y", deps: ["x"] },
    ]);
    expect(d.get("a")).toBe(1);
    expect(d.get("b")).toBe(2);
    expect(d.get("x")).toBeGreaterThanOrEqual(1);
    expect(d.get("y")).toBeGreaterThanOrEqual(1);
  });
});

describe("stepColumns", () => {
  it("groups by depth in the steps' order", () => {
    expect(stepColumns(refresh).map((c) => c.map((s) => s.name))).toEqual([
      ["sync"],
      ["classify"],
      ["classify-1", "classify-2"],
      ["reputation", "analytics"],
    ]);
  });
});

describe("layoutGraph", () => {
  const m = { width: 100, height: 40, colGap: 20, rowGap: 10 };

  it("centres columns and joins deps to dependents", () => {
    const g = layoutGraph(refresh, m);
    expect(g.width).toBe(4 * 100 + 3 * 20);
    expect(g.height).toBe(2 * 40 + 10);
    expect(g.boxes.get("sync")).toEqual({ x: 0, y: 25 });
    expect(g.boxes.get("classify-2")).toEqual({ x: 240, y: 50 });
    expect(g.edges).toHaveLength(1 + 1 + 1 + 3 + 3);
    expect(g.edges.find((e) => e.from === "sync")).toEqual({ from: "sync", to: "classify", x1: 100, y1: 45, x2: 120, y2: 45 });
  });

  it("is empty for no steps", () => {
    expect(layoutGraph([], m)).toMatchObject({ width: 0, height: 0, edges: [] });
  });
});
