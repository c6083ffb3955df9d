// Laying a workflow's steps out as a diagram: one column per depth, a
// connector from each dependency to its dependent.

/** What the layout needs of a step. */
export type GraphStep = { name: string; deps?: readonly string[] | null };

/**
 * stepDepths gives each step its depth: 1 for a step that waits for
 * nothing, else 1 + the deepest of its deps. A dep that names no step is
 * ignored, and a cycle (the server refuses them) is cut where it closes,
 * so a malformed graph still draws.
 */
export function stepDepths(steps: readonly GraphStep[]): Map<string, number> {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const visit = (name: string): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    if (visiting.has(name)) return 0; // a cycle: cut here
    visiting.add(name);
    let d = 1;
    for (const dep of byName.get(name)?.deps ?? []) {
      if (byName.has(dep)) d = Math.max(d, visit(dep) + 1);
    }
    visiting.delete(name);
    depth.set(name, d);
    return d;
  };
  for (const s of steps) visit(s.name);
  return depth;
}

/** stepColumns groups the steps by depth, keeping their order in each column. */
export function stepColumns<S extends GraphStep>(steps: readonly S[]): S[][] {
  const depths = stepDepths(steps);
  const columns: S[][] = [];
  for (const s of steps) {
    const d = depths.get(s.name) ?? 1;
    while (columns.length < d) columns.push([]);
    columns[d - 1]?.push(s);
  }
  return columns.filter((c) => c.length > 0);
}

/** Where a step's card sits, in pixels from the diagram's top left. */
export type Box = { x: number; y: number };

/** The card size and the gaps the layout assumes. */
export type Metrics = { width: number; height: number; colGap: number; rowGap: number };

/** A connector from the right edge of a dep's card to the left edge of its dependent's. */
export type Edge = { from: string; to: string; x1: number; y1: number; x2: number; y2: number };

/**
 * layoutGraph places the cards (columns left to right, each column centred
 * on the tallest) and the connectors between them.
 */
export function layoutGraph<S extends GraphStep>(steps: readonly S[], m: Metrics) {
  const columns = stepColumns(steps);
  const rows = Math.max(0, ...columns.map((c) => c.length));
  const pitch = m.height + m.rowGap;
  const boxes = new Map<string, Box>();
  columns.forEach((col, i) => {
    const top = ((rows - col.length) * pitch) / 2;
    col.forEach((s, j) => boxes.set(s.name, { x: i * (m.width + m.colGap), y: top + j * pitch }));
  });
  const edges: Edge[] = [];
  for (const s of steps) {
    const to = boxes.get(s.name);
    for (const dep of s.deps ?? []) {
      const from = boxes.get(dep);
      if (!to || !from) continue;
      edges.push({ from: dep, to: s.name, x1: from.x + m.width, y1: from.y + m.height / 2, x2: to.x, y2: to.y + m.height / 2 });
    }
  }
  return {
    columns,
    boxes,
    edges,
    width: columns.length ? columns.length * (m.width + m.colGap) - m.colGap : 0,
    height: rows ? rows * pitch - m.rowGap : 0,
  };
}
