// Burn-down of each take-or-pay commitment: what has been spent against it
// over time, next to the straight pace that would meet it by its end, with
// the top-ups of its contracts marked.
//
// Two spends, both from the contracts the token sees:
// - booked: the spec's "spend of a commitment" (a contract's full value,
//   counted when it starts inside the window); the shortfall is what booked
//   spend leaves of the commitment.
// - accrued: charges as the capacity is delivered (GPU-hours × price up to
//   each instant), the figure a burn-down against the calendar needs.
// Both are exact decimals, rounded to cents once for display.

import type { Commitment, Contract } from "../api";
import { type Marker, lineChart } from "../charts";
import { h, panel, table } from "../dom";
import { Dec, day, ms, num, usdExact, usdShort } from "../fmt";
import { type Ctx, partyName } from "../session";

/** Amount pieces of a contract: [from, to) with GPUs, cut at top-ups. */
function pieces(c: Contract): [number, number, number][] {
  const start = ms(c.start);
  const end = ms(c.end);
  const cuts = c.amendments
    .map((a) => [Math.max(ms(a.effective), start), a.gpus] as [number, number])
    .filter(([t]) => t < end)
    .sort((a, b) => a[0] - b[0]);
  const out: [number, number, number][] = [];
  let from = start;
  let gpus = c.gpus;
  for (const [t, add] of cuts) {
    if (t > from) out.push([from, t, gpus]);
    from = Math.max(from, t);
    gpus += add;
  }
  out.push([from, end, gpus]);
  return out;
}

/** Σ GPUs × price × seconds up to t, exact (USD × 3600). */
function accruedTimes3600(cs: Contract[], t: number): Dec {
  let sum = Dec.zero;
  for (const c of cs) {
    const price = Dec.parse(c.price_per_gpu_hour);
    for (const [a, b, g] of pieces(c)) {
      const to = Math.min(b, t);
      if (to <= a) continue;
      // Times are whole seconds in the API (RFC 3339 without fractions).
      sum = sum.add(price.mulInt(BigInt(g) * BigInt(Math.round((to - a) / 1000))));
    }
  }
  return sum;
}

export function accruedUsd(cs: Contract[], t: number): Dec {
  return accruedTimes3600(cs, t).divInt(3600n, 2);
}

function booked(cs: Contract[], t: number): Dec {
  return cs.filter((c) => ms(c.start) <= t).reduce((a, c) => a.add(Dec.parse(c.value_usd)), Dec.zero);
}

function burnDown(ctx: Ctx, cm: Commitment): HTMLElement {
  const start = ms(cm.start);
  const end = ms(cm.end);
  const cs = ctx.contracts.filter((c) => c.buyer === cm.buyer && c.seller === cm.seller && ms(c.start) >= start && ms(c.start) < end);
  const total = Dec.parse(cm.usd_total);
  const topups = total.sub(Dec.parse(cm.usd));
  const times = new Set<number>([start, end]);
  for (const c of cs) {
    for (const [a, b] of pieces(c)) {
      if (a >= start && a <= end) times.add(a);
      if (b >= start && b <= end) times.add(b);
    }
  }
  const ts = [...times].sort((a, b) => a - b);
  const today = new Date();
  const now = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  const markers: Marker[] = [];
  for (const c of cs) {
    for (const a of c.amendments) {
      const t = ms(a.effective);
      if (t >= start && t < end) markers.push({ at: t, label: `top-up ${a.gpus > 0 ? "+" : ""}${num(a.gpus)} GPUs (${c.id})` });
    }
  }
  if (now > start && now < end) markers.push({ at: now, label: "today" });
  const chart = lineChart([
    { name: "required pace (straight line to the commitment)", points: [[start, 0], [end, total.toNumber()]], cls: "c" },
    { name: "spent: accrued charges", points: ts.map((t) => [t, accruedUsd(cs, t).toNumber()]), cls: "a" },
    { name: "spent: booked (full contract value at its start)", points: ts.map((t) => [t, booked(cs, t).toNumber()]), step: true, cls: "b" },
    { name: "committed", points: [[start, total.toNumber()], [end, total.toNumber()]], cls: "d" },
  ], { yFormat: usdShort, yMin: 0, markers, testid: `burndown-${cm.id}` });

  const bookedAll = booked(cs, end);
  const shortfall = total.cmp(bookedAll) > 0 ? total.sub(bookedAll) : Dec.zero;
  const asOf = Math.min(Math.max(now, start), end);
  const accruedNow = accruedUsd(cs, asOf);
  const left = total.cmp(accruedNow) > 0 ? total.sub(accruedNow) : Dec.zero;
  const monthsLeft = Math.max(0, (end - asOf) / (30.436875 * 86_400_000));
  const pace = monthsLeft > 0 ? left.toNumber() / monthsLeft : 0;
  return panel(`${cm.id}: ${partyName(ctx, cm.buyer)} with ${partyName(ctx, cm.seller)}`,
    h("p", { class: "muted" }, `${day(cm.start)} → ${day(cm.end)}. Committed ${usdExact(cm.usd)}`,
      topups.cmp(Dec.zero) !== 0 ? ` plus top-ups of ${usdExact(topups.toString())} = ${usdExact(cm.usd_total)}` : "",
      ". The API gives a commitment's top-ups as a total, without their dates; contract top-ups are marked on the chart."),
    chart,
    table(["", "USD"], [
      ["committed (with top-ups)", usdExact(cm.usd_total)],
      ["booked spend (contracts starting in the window)", usdExact(bookedAll.toString())],
      ["shortfall if nothing else is bought", usdExact(shortfall.toString())],
      [`accrued charges to ${day(asOf)}`, usdExact(accruedNow.toString())],
      ["still to accrue", usdExact(left.toString())],
      ["monthly pace needed from here", monthsLeft > 0 ? usdShort(pace) : "—"],
    ], "kv"),
    cs.length
      ? h("details", {}, h("summary", {}, `${cs.length} contract${cs.length > 1 ? "s" : ""} count toward it`),
        table(["contract", "GPUs", "window", "value"], cs.map((c) => [c.id, `${num(c.gpus)} ${c.gpu}`, `${day(c.start)} → ${day(c.end)}`, usdExact(c.value_usd)])))
      : h("p", { class: "muted" }, "No visible contract counts toward it yet."));
}

export async function commitmentsView(ctx: Ctx, el: HTMLElement): Promise<void> {
  const all = await ctx.api.get<Commitment[]>("/commitments");
  const mine = ctx.me.admin ? all.filter((c) => c.buyer === ctx.buyer) : all;
  if (mine.length === 0) {
    el.append(panel("Commitments", h("p", { class: "muted" }, `No commitments${ctx.me.admin ? ` with ${partyName(ctx, ctx.buyer)} as buyer` : ""}.`)));
    return;
  }
  el.append(...mine.map((cm) => burnDown(ctx, cm)));
}
