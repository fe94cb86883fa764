// Simulation results: delivered vs lost work per policy (the metrics
// document of second-wave.md "Simulation"). From GET /simulations?buyer=
// once the server has it; meanwhile a `cascade simulate --json` output can
// be opened from disk (read in the page, sent nowhere).

import { NotAvailable } from "../api";
import { bars, lineChart } from "../charts";
import { clear, errorBox, h, panel, table, unavailable } from "../dom";
import { count, day, num, pct, usdExact } from "../fmt";
import { type Ctx, partyName } from "../session";

export interface PolicyResult {
  policy: string;
  cost_usd: string;
  capacity_h100e_hours: number;
  capacity_lost_h100e_hours: number;
  delivered_h100e_hours: number;
  work_lost_h100e_hours: number;
  unmet_h100e_hours: number;
  queue_delay_s: { p50: number; p95: number; p99: number };
  utilization: number;
  jobs_total: number;
  jobs_finished: number;
  jobs_skipped: number;
  /** Optional: per period, average concurrent H100e delivered and lost. */
  series?: { from: string; delivered_h100e: number; lost_h100e: number }[];
  [ci: string]: unknown;
}

export interface SimDoc {
  buyer: string;
  seed: number;
  runs: number;
  from: string;
  to: string;
  policies: PolicyResult[];
}

function isSimDoc(x: unknown): x is SimDoc {
  const d = x as SimDoc;
  return !!d && typeof d === "object" && Array.isArray(d.policies) && typeof d.from === "string";
}

const ci = (p: PolicyResult, k: string) => {
  const v = p[`${k}_ci95`];
  return Array.isArray(v) ? ` (95% CI ${count(Number(v[0]))}–${count(Number(v[1]))})` : "";
};

export function simPanels(ctx: Ctx, d: SimDoc): HTMLElement[] {
  const max = Math.max(1, ...d.policies.map((p) => p.capacity_h100e_hours));
  const out: HTMLElement[] = [
    panel(`Simulation for ${partyName(ctx, d.buyer)}: ${day(d.from)} → ${day(d.to)}`,
      h("p", { class: "muted" }, `Seed ${d.seed}, ${d.runs} run${d.runs > 1 ? "s (figures are means)" : ""}. H100e-hours over the horizon; bars are shares of the largest held capacity.`),
      ...d.policies.map((p) => h("div", { class: "policy", "data-policy": p.policy },
        h("h3", {}, p.policy),
        bars([
          { label: "held capacity", value: p.capacity_h100e_hours / max, text: count(p.capacity_h100e_hours) + ci(p, "capacity_h100e_hours") },
          { label: "delivered (used by jobs)", value: p.delivered_h100e_hours / max, text: count(p.delivered_h100e_hours) + ci(p, "delivered_h100e_hours"), cls: "good" },
          { label: "capacity lost (delivery rule)", value: p.capacity_lost_h100e_hours / max, text: count(p.capacity_lost_h100e_hours) + ci(p, "capacity_lost_h100e_hours"), cls: "warn" },
          { label: "work lost (faults)", value: p.work_lost_h100e_hours / max, text: count(p.work_lost_h100e_hours) + ci(p, "work_lost_h100e_hours"), cls: "warn" },
          { label: "unmet demand", value: p.unmet_h100e_hours / max, text: count(p.unmet_h100e_hours) + ci(p, "unmet_h100e_hours"), cls: "bad" },
        ]),
        p.series?.length
          ? lineChart([
            { name: "delivered (avg H100e)", points: p.series.map((x) => [Date.parse(x.from), x.delivered_h100e]), step: true, cls: "a" },
            { name: "lost (avg H100e)", points: p.series.map((x) => [Date.parse(x.from), x.lost_h100e]), step: true, cls: "b" },
          ], { yFormat: count, yMin: 0, height: 180 })
          : null))),
    panel("Per policy",
      table(["policy", "cost", "utilization", "queue delay p50 / p95 / p99", "jobs finished / total", "skipped"],
        d.policies.map((p) => [p.policy, usdExact(p.cost_usd), pct(p.utilization),
          `${num(p.queue_delay_s.p50)} / ${num(p.queue_delay_s.p95)} / ${num(p.queue_delay_s.p99)} s`,
          `${num(p.jobs_finished)} / ${num(p.jobs_total)}`, num(p.jobs_skipped)]))),
  ];
  return out;
}

export async function simulationView(ctx: Ctx, el: HTMLElement): Promise<void> {
  const results = h("div", {});
  const file = h("input", { type: "file", accept: "application/json,.json", "aria-label": "Open a simulation result" });
  file.addEventListener("change", async () => {
    const f = file.files?.[0];
    if (!f) return;
    clear(results);
    try {
      const d: unknown = JSON.parse(await f.text());
      if (!isSimDoc(d)) throw new Error(`${f.name}: not a \`cascade simulate --json\` document (no "policies")`);
      results.append(...simPanels(ctx, d));
    } catch (e) {
      results.append(errorBox(e));
    }
  });
  const opener = h("p", { class: "muted" }, "Open a result of ", h("code", {}, "cascade simulate … --json"), " from disk: ", file);
  const template = "/simulations";
  try {
    const got = await ctx.api.optional<SimDoc | SimDoc[]>(template, `/simulations?buyer=${encodeURIComponent(ctx.buyer)}`);
    const docs = Array.isArray(got) ? got : [got];
    if (docs.length === 0) results.append(panel("Simulation", h("p", { class: "muted" }, "No simulation results on the server for this buyer.")));
    for (const d of docs) results.append(...simPanels(ctx, d));
    el.append(panel("Simulation", opener), results);
  } catch (e) {
    if (!(e instanceof NotAvailable)) throw e;
    el.append(unavailable(`GET ${template}?buyer=`, "the simulation view (delivered vs lost work per policy)"), panel("Simulation from a file", opener), results);
  }
}
