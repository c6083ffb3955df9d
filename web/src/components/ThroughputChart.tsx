import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { ThroughputPoint } from "../api/client";

type Props = { points: ThroughputPoint[] };

function toData(points: ThroughputPoint[]): uPlot.AlignedData {
  return [
    points.map((p) => Date.parse(p.minute) / 1000),
    points.map((p) => p.completed),
    points.map((p) => p.failed),
  ];
}

/** translucent adds an alpha to a #rrggbb colour (canvas fills take #rrggbbaa). */
function translucent(color: string, alpha: string): string {
  return /^#[0-9a-f]{6}$/i.test(color) ? color + alpha : color;
}

/** cssVar reads a theme colour (styles.css), so the chart follows light and dark. */
function cssVar(el: Element, name: string, fallback: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}

/**
 * ThroughputChart draws completions and failures per minute over the last
 * hour (uPlot on a canvas). The numbers are also given as text for screen
 * readers.
 */
export function ThroughputChart({ points }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const axis = cssVar(el, "--muted", "#4b5563");
    const grid = cssVar(el, "--line", "#e5e7eb");
    const completed = cssVar(el, "--good", "#1f7a4d");
    const failed = cssVar(el, "--bad", "#b3261e");
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: 220,
      cursor: { drag: { x: false, y: false } },
      legend: { show: true },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.1))] } },
      axes: [
        { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid } },
        { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid }, label: "tasks / min", size: 50 },
      ],
      series: [
        {},
        { label: "Completed", stroke: completed, fill: translucent(completed, "24"), width: 2, points: { show: false } },
        { label: "Failed", stroke: failed, fill: translucent(failed, "1f"), width: 2, points: { show: false } },
      ],
    };
    const u = new uPlot(opts, [[], [], []], el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(280, el.clientWidth), height: 220 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(toData(points));
  }, [points]);

  const completed = points.reduce((n, p) => n + p.completed, 0);
  const failed = points.reduce((n, p) => n + p.failed, 0);
  return (
    <figure className="chart">
      <div ref={box} className="chart-canvas" aria-hidden="true" />
      <figcaption>
        Last hour: {completed.toLocaleString()} completed, {failed.toLocaleString()} failed.
      </figcaption>
    </figure>
  );
}
