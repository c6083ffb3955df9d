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

const COMPLETED = "#1f7a4d";
const FAILED = "#b3261e";

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
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: 220,
      cursor: { drag: { x: false, y: false } },
      legend: { show: true },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.1))] } },
      axes: [
        { stroke: "#4b5563", grid: { stroke: "#e5e7eb" } },
        { stroke: "#4b5563", grid: { stroke: "#e5e7eb" }, label: "tasks / min", size: 50 },
      ],
      series: [
        {},
        { label: "Completed", stroke: COMPLETED, fill: "rgba(31,122,77,0.12)", width: 2, points: { show: false } },
        { label: "Failed", stroke: FAILED, fill: "rgba(179,38,30,0.10)", width: 2, points: { show: false } },
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
