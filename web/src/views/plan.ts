// Runs the optimizer (POST /plan) for the buyer and shows what it would
// buy, and the buyer's exposure before and after those purchases.

import { ApiError, type Exposure, type Offer, type Plan } from "../api";
import { bars } from "../charts";
import { clear, errorBox, h, panel, table } from "../dom";
import { day, ms, num, pct, rfc3339, usdExact } from "../fmt";
import { type Ctx, h100e, partyName } from "../session";
import { tiles } from "./exposure";

interface Shares {
  total: number;
  rows: { id: string; h100e: number; share: number }[];
}

function shares(m: Map<string, number>): Shares {
  const total = [...m.values()].reduce((a, b) => a + b, 0);
  const rows = [...m.entries()]
    .map(([id, v]) => ({ id, h100e: v, share: total > 0 ? v / total : 0 }))
    .sort((a, b) => b.h100e - a.h100e || a.id.localeCompare(b.id));
  return { total, rows };
}

/**
 * The exposure after a plan: the exposure document at `at` plus the
 * purchases active then, by physical provider and by seller. Shares, HHI
 * and N-1 follow the exposure document's definitions (spec "Exposure").
 */
export function after(ctx: Ctx, before: Exposure, plan: Plan, offers: Map<string, Offer>, at: number) {
  const prov = new Map(before.by_provider.map((r) => [r.id, r.h100e]));
  const cp = new Map(before.by_counterparty.map((r) => [r.id, r.h100e]));
  for (const p of plan.purchases) {
    if (!(ms(p.start) <= at && at < ms(p.end))) continue;
    const gpu = offers.get(p.offer)?.gpu;
    const x = p.gpus * (gpu ? h100e(ctx, gpu) : 1);
    prov.set(p.provider, (prov.get(p.provider) ?? 0) + x);
    cp.set(p.seller, (cp.get(p.seller) ?? 0) + x);
  }
  const byProvider = shares(prov);
  return {
    byProvider,
    byCounterparty: shares(cp),
    hhi: byProvider.rows.reduce((a, r) => a + r.share * r.share, 0),
    nMinus1: byProvider.rows.map((r) => ({ lost: r.id, remaining_h100e: byProvider.total - r.h100e, remaining_share: byProvider.total > 0 ? 1 - r.share : 0 })),
  };
}

export async function planView(ctx: Ctx, el: HTMLElement): Promise<void> {
  const out = h("div", { "data-testid": "plan-result" });
  const strategy = h("select", { "aria-label": "Strategy" },
    h("option", { value: "optimal" }, "optimal (HiGHS MILP)"), h("option", { value: "greedy" }, "greedy baseline"));
  const run = h("button", { type: "button", class: "primary", "data-testid": "run-plan" }, "Run plan");
  const offersP = ctx.api.get<Offer[]>("/offers");
  run.addEventListener("click", async () => {
    run.disabled = true;
    clear(out);
    out.append(h("p", { class: "loading" }, "Solving…"));
    try {
      const plan = await ctx.api.post<Plan>("/plan", { buyer: ctx.buyer, strategy: strategy.value });
      const offers = new Map((await offersP).map((o) => [o.id, o]));
      clear(out);
      await showPlan(ctx, out, plan, offers);
      out.dataset.status = plan.status;
    } catch (e) {
      clear(out);
      out.append(errorBox(e instanceof ApiError && e.status === 403 ? new Error("This token may plan only for its own party.") : e));
    } finally {
      run.disabled = false;
    }
  });
  el.append(panel(`Plan for ${partyName(ctx, ctx.buyer)}`,
    h("p", { class: "muted" },
      "Runs the procurement optimizer on the server's open offers, with the buyer's demands, policy, clauses and commitments."),
    h("div", { class: "toolbar" }, strategy, run), out));
}

async function showPlan(ctx: Ctx, out: HTMLElement, plan: Plan, offers: Map<string, Offer>) {
  out.append(
    tiles([
      ["status", plan.status, "plan-status"],
      ["objective", usdExact(plan.objective_usd)],
      ["purchases", usdExact(plan.purchases_usd)],
      ["commitment shortfall", usdExact(plan.shortfall_usd)],
      ["solve time", `${plan.solve_seconds.toFixed(2)} s`],
    ]),
  );
  if (plan.reason) out.append(h("p", { class: "callout" }, plan.reason));
  if (plan.purchases.length === 0) {
    out.append(h("p", { class: "muted" }, "Nothing to buy."));
    return;
  }
  out.append(h("h3", {}, "Purchases"),
    table(["offer", "seller", "physical provider", "site", "GPUs", "window", "cost"],
      plan.purchases.map((p) => [p.offer, partyName(ctx, p.seller), partyName(ctx, p.provider), `${p.site} (${p.region})`,
        `${num(p.gpus)} ${offers.get(p.offer)?.gpu ?? ""}`, `${day(p.start)} → ${day(p.end)}`, usdExact(p.cost_usd)]), "purchases"));

  const instants = [...new Set(plan.purchases.map((p) => ms(p.start)))].sort((a, b) => a - b);
  const pick = h("select", { "aria-label": "Instant to compare" },
    ...instants.map((t) => h("option", { value: String(t) }, day(t))));
  const cmp = h("div", {});
  const draw = async () => {
    const at = Number(pick.value);
    const before = await ctx.api.exposure(ctx.buyer, rfc3339(at));
    const a = after(ctx, before, plan, offers, at);
    clear(cmp);
    const row = (label: string, b: HTMLElement, c: HTMLElement) =>
      h("div", {}, h("h3", {}, label), h("div", { class: "two-col" }, h("div", {}, h("h4", {}, "before"), b), h("div", {}, h("h4", {}, "after"), c)));
    const sb = (rows: { id: string; h100e: number; share: number }[]) =>
      bars(rows.map((r) => ({ label: partyName(ctx, r.id), value: r.share, text: `${pct(r.share)} · ${num(r.h100e)} H100e` })));
    cmp.append(
      tiles([
        ["H100e before", num(before.total.h100e)],
        ["H100e after", num(a.byProvider.total), "after-h100e"],
        ["HHI before", before.hhi.toFixed(4)],
        ["HHI after", a.hhi.toFixed(4), "after-hhi"],
      ]),
      row("By physical provider", sb(before.by_provider), sb(a.byProvider.rows)),
      row("By direct counterparty", sb(before.by_counterparty), sb(a.byCounterparty.rows)),
      row("N-1: left after losing one provider",
        bars(before.n_minus_1.map((r) => ({ label: `without ${partyName(ctx, r.lost)}`, value: r.remaining_share, text: pct(r.remaining_share) }))),
        bars(a.nMinus1.map((r) => ({ label: `without ${partyName(ctx, r.lost)}`, value: r.remaining_share, text: pct(r.remaining_share) })))),
    );
  };
  pick.addEventListener("change", () => void draw());
  out.append(h("h3", {}, "Exposure before and after"), h("div", { class: "toolbar" }, h("label", {}, "At ", pick)), cmp);
  await draw();
}
