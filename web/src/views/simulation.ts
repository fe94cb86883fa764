// Simulation results: delivered vs lost work per policy (the metrics
// document of second-wave.md "Simulation", with per-policy `series`), from
// GET /simulations?buyer=; a `cascade simulate --json` output (any
// policies, trace and runs) can also be opened from disk (read in the page,
// sent nowhere).

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
  if (!(await ctx.api.has(template))) {
    el.append(unavailable(`GET ${template}?buyer=`, "the simulation view (delivered vs lost work per policy)"), panel("Simulation from a file", opener), results);
    return;
  }
  // The server runs the policies that need no solver (held, greedy) on
  // seeded synthetic work sized to the buyer's capacity; the rest of the
  // model's knobs stay with `cascade simulate`.
  const outages = h("select", { "aria-label": "Outages" },
    h("option", { value: "scenario" }, "the stored outages"),
    h("option", { value: "random" }, "random outages and GPU failures"),
    h("option", { value: "none" }, "no outages"));
  const runs = h("select", { "aria-label": "Runs" },
    ...[1, 4, 8].map((n) => h("option", { value: String(n) }, `${n} run${n > 1 ? "s" : ""}`)));
  const go = h("button", { type: "button", "data-testid": "run-simulation" }, "Simulate");
  const run = async () => {
    go.disabled = true;
    clear(results);
    results.append(h("p", { class: "muted" }, "Simulating…"));
    try {
      const q = `buyer=${encodeURIComponent(ctx.buyer)}&outages=${outages.value}&runs=${runs.value}`;
      const d = await ctx.api.get<SimDoc>(`${template}?${q}`);
      clear(results);
      results.append(...simPanels(ctx, d));
    } catch (e) {
      clear(results);
      results.append(errorBox(e));
    } finally {
      go.disabled = false;
    }
  };
  go.addEventListener("click", run);
  el.append(panel("Simulation",
    h("p", { class: "muted" }, "Synthetic work (seeded, sized to the capacity held) replayed on the buyer's portfolio as held, and with the greedy plan's purchases. The optimizer's policies run in ", h("code", {}, "cascade simulate"), "."),
    h("div", { class: "toolbar" }, h("label", {}, "Faults ", outages), h("label", {}, "Runs ", runs), go),
    opener), results);
  await run();
}
