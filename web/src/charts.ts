// Charts drawn as SVG (lines over time) and HTML (horizontal bars), with
// text labels, no fonts or scripts fetched from anywhere.

import { h, s } from "./dom";
import { day } from "./fmt";

export interface BarRow {
  label: string;
  value: number; // 0..1 of the bar's full width
  text: string;
  cls?: string;
  title?: string;
}

/** Horizontal bars: one labelled row each, widths as shares. */
export function bars(rows: BarRow[], testid?: string): HTMLElement {
  if (rows.length === 0) return h("p", { class: "muted" }, "Nothing held at this instant.");
  return h(
    "div",
    { class: "bars", "data-testid": testid },
    ...rows.map((r) =>
      h(
        "div",
        { class: `bar-row ${r.cls ?? ""}`, title: r.title ?? `${r.label}: ${r.text}` },
        h("span", { class: "bar-label" }, r.label),
        h(
          "span",
          { class: "bar-track" },
          h("span", { class: "bar-fill", style: `width:${Math.max(0, Math.min(1, r.value)) * 100}%` }),
        ),
        h("span", { class: "bar-text" }, r.text),
      ),
    ),
  );
}

export interface Series {
  name: string;
  points: [number, number][]; // [ms, value]
  step?: boolean; // hold each value until the next point
  cls: string; // colour and dash come from CSS (.s-<cls>)
}

export interface Marker {
  at: number;
  label: string;
}

export interface LineOpts {
  yFormat: (y: number) => string;
  height?: number;
  markers?: Marker[];
  yMin?: number;
  yMax?: number;
  testid?: string;
  onPick?: (t: number) => void;
}


/** A time chart: x is time (UTC), any number of series, optional markers. */
export function lineChart(series: Series[], o: LineOpts): HTMLElement {
  // Drawn at about the size it is shown, so that text stays legible from
  // phone to desktop.
  const W = Math.max(320, Math.min(960, window.innerWidth - 72));
  const H = o.height ?? Math.round(Math.min(260, Math.max(180, W * 0.34)));
  const pad = { l: 64, r: 12, t: 12, b: 28 };
  const xs = series.flatMap((q) => q.points.map((p) => p[0])).concat((o.markers ?? []).map((m) => m.at));
  const ys = series.flatMap((q) => q.points.map((p) => p[1]));
  if (xs.length === 0) return h("p", { class: "muted" }, "No data.");
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 1);
  const y0 = o.yMin ?? Math.min(0, ...ys);
  let y1 = o.yMax ?? Math.max(...ys, y0 + 1e-9);
  if (y1 <= y0) y1 = y0 + 1;
  const X = (t: number) => pad.l + ((t - x0) / (x1 - x0)) * (W - pad.l - pad.r);
  const Y = (v: number) => pad.t + (1 - (v - y0) / (y1 - y0)) * (H - pad.t - pad.b);
  const svg = s("svg", {
    viewBox: `0 0 ${W} ${H}`,
    class: "chart",
    role: "img",
    "data-testid": o.testid,
    preserveAspectRatio: "xMidYMid meet",
  });
  // y grid and ticks
  for (let i = 0; i <= 4; i++) {
    const v = y0 + ((y1 - y0) * i) / 4;
    svg.append(
      s("line", { x1: pad.l, x2: W - pad.r, y1: Y(v), y2: Y(v), class: "grid" }),
      s("text", { x: pad.l - 6, y: Y(v) + 4, "text-anchor": "end", class: "tick" }, o.yFormat(v)),
    );
  }
  // x ticks: about six dates
  const nx = W < 500 ? 3 : 5;
  for (let i = 0; i <= nx; i++) {
    const t = x0 + ((x1 - x0) * i) / nx;
    svg.append(
      s("text", { x: X(t), y: H - 8, "text-anchor": i === 0 ? "start" : i === nx ? "end" : "middle", class: "tick" },
        x1 - x0 > 120 * 86_400_000 ? new Date(t).toISOString().slice(0, 7) : day(new Date(t).toISOString().slice(0, 10) + "T00:00:00Z")),
    );
  }
  const markers = [...(o.markers ?? [])].sort((a, b) => a.at - b.at);
  markers.forEach((m, i) => {
    // Labels step down so that close markers do not write over each other;
    // past the middle they sit left of their line.
    const right = X(m.at) > W / 2;
    svg.append(
      s("line", { x1: X(m.at), x2: X(m.at), y1: pad.t, y2: H - pad.b, class: "marker" }),
      s("text", { x: X(m.at) + (right ? -3 : 3), y: pad.t + 10 + (i % 4) * 12, class: "marker-label", "text-anchor": right ? "end" : "start" }, m.label),
    );
  });
  for (const q of series) {
    if (q.points.length === 0) continue;
    let d = "";
    q.points.forEach(([t, v], i) => {
      if (i === 0) d += `M${X(t)},${Y(v)}`;
      else if (q.step) d += `H${X(t)}V${Y(v)}`;
      else d += `L${X(t)},${Y(v)}`;
    });
    svg.append(s("path", { d, class: `series s-${q.cls}` }, s("title", {}, q.name)));
    if (q.points.length <= 60) {
      for (const [t, v] of q.points) {
        const dot = s("circle", { cx: X(t), cy: Y(v), r: 3, class: `dot s-${q.cls}` },
          s("title", {}, `${q.name} ${day(t)}: ${o.yFormat(v)}`));
        if (o.onPick) dot.addEventListener("click", () => o.onPick!(t));
        svg.append(dot);
      }
    }
  }
  const legend = h(
    "div",
    { class: "legend" },
    ...series.map((q) => h("span", { class: "legend-item" }, h("i", { class: `swatch s-${q.cls}` }), q.name)),
  );
  return h("div", { class: "chart-wrap" }, svg, legend);
}
