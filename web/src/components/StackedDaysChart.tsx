import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { SERIES, stacked, type MailDay } from "../services/analytics";

// One colour per category, bottom band first (SERIES order); readable on
// light and dark backgrounds.
const COLORS = ["#2563eb", "#0d9488", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#b3261e", "#6b7280"];

function cssVar(el: Element, name: string, fallback: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}

/**
 * StackedDaysChart draws mail received per day, stacked by category (uPlot,
 * the Operators page's chart library). Each band fills down to the one
 * below it; the legend and the table beside it give the numbers.
 */
export function StackedDaysChart({ days }: { days: MailDay[] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const axis = cssVar(el, "--muted", "#4b5563");
    const grid = cssVar(el, "--line", "#e5e7eb");
    const series: uPlot.Series[] = [{}];
    const bands: uPlot.Band[] = [];
    SERIES.forEach((s, i) => {
      series.push({ label: s.name, stroke: COLORS[i], fill: COLORS[i] + "55", width: 1, points: { show: false } });
      if (i > 0) bands.push({ series: [i + 1, i] });
    });
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: 240,
      cursor: { drag: { x: false, y: false } },
      legend: { show: true },
      bands,
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.1))] } },
      axes: [
        { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid } },
        { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid }, label: "messages / day", size: 50 },
      ],
      series,
    };
    const u = new uPlot(opts, [[], ...SERIES.map(() => [])], el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(280, el.clientWidth), height: 240 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(stacked(days) as uPlot.AlignedData);
  }, [days]);

  return <div ref={box} className="chart-canvas" aria-hidden="true" />;
}

/**
 * DailyLineChart draws one or two per-day series (uPlot), e.g. tasks
 * completed and failed.
 */
export function DailyLineChart({
  days,
  lines,
  unit,
}: {
  days: string[];
  lines: { label: string; values: number[]; color: string }[];
  unit: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const labels = lines.map((l) => l.label).join("|");
  const colors = lines.map((l) => l.color).join("|");

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const axis = cssVar(el, "--muted", "#4b5563");
    const grid = cssVar(el, "--line", "#e5e7eb");
    const ls = labels.split("|");
    const cs = colors.split("|");
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: 200,
      cursor: { drag: { x: false, y: false } },
      legend: { show: true },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.1))] } },
      axes: [
        { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid } },
        { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid }, label: unit, size: 50 },
      ],
      series: [{}, ...ls.map((label, i) => ({ label, stroke: cs[i], width: 2, points: { show: false } }))],
    };
    const u = new uPlot(opts, [[], ...ls.map(() => [])], el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(280, el.clientWidth), height: 200 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [labels, colors, unit]);

  useEffect(() => {
    plot.current?.setData([days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000), ...lines.map((l) => l.values)]);
  }, [days, lines]);

  return <div ref={box} className="chart-canvas" aria-hidden="true" />;
}
