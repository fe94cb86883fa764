// True concentration: share by physical provider beside share by direct
// counterparty, so capacity hidden behind resellers shows at a glance; N-1
// (what is left after losing each provider); HHI over time from the
// exposure document asked at several instants.

import { type Exposure, pool } from "../api";
import { bars, lineChart } from "../charts";
import { clear, h, panel, table } from "../dom";
import { day, monthStarts, ms, num, pct, rfc3339, usdExact } from "../fmt";
import { type Ctx, partyName } from "../session";

export function instantPicker(value: string, onChange: (v: string) => void, label = "At"): HTMLElement {
  const input = h("input", { type: "date", value, "aria-label": label, required: true });
  input.addEventListener("change", () => {
    if (input.value) onChange(input.value);
  });
  return h("label", { class: "picker" }, `${label} `, input, h("span", { class: "muted" }, " 00:00 UTC"));
}

export function shareBars(ctx: Ctx, rows: { id: string; h100e: number; share: number; gpus?: number }[], testid: string) {
  return bars(
    rows.map((r) => ({
      label: partyName(ctx, r.id),
      value: r.share,
      text: `${pct(r.share)} · ${num(r.h100e)} H100e`,
    })),
    testid,
  );
}

export function tiles(items: [string, string, string?][]): HTMLElement {
  return h("div", { class: "tiles" },
    ...items.map(([k, v, tid]) => h("div", { class: "tile" }, h("div", { class: "tile-v", "data-testid": tid }, v), h("div", { class: "tile-k" }, k))));
}

/** The window over which the buyer holds anything: for time charts. */
export function holdingSpan(ctx: Ctx, buyer: string): [number, number] | null {
  const mine = ctx.contracts.filter((c) => c.buyer === buyer);
  if (mine.length === 0) return null;
  return [Math.min(...mine.map((c) => ms(c.start))), Math.max(...mine.map((c) => ms(c.end)))];
}

export async function exposureView(ctx: Ctx, el: HTMLElement): Promise<void> {
  const body = h("div", {});
  const trend = h("div", {});
  let at = ctx.defaultAt;
  const draw = async () => {
    const e = await ctx.api.exposure(ctx.buyer, at);
    clear(body);
    body.append(...exposurePanels(ctx, e));
  };
  el.append(
    panel(`Exposure of ${partyName(ctx, ctx.buyer)}`,
      h("div", { class: "toolbar" }, instantPicker(at, (v) => {
        at = v;
        void draw();
      })),
      body),
    trend,
  );
  await Promise.all([draw(), drawTrend(ctx, trend, (t) => {
    at = new Date(t).toISOString().slice(0, 10);
    (el.querySelector("input[type=date]") as HTMLInputElement).value = at;
    void draw();
  })]);
}

export function exposurePanels(ctx: Ctx, e: Exposure): HTMLElement[] {
  // The provider whose physical share most exceeds its share as a direct
  // counterparty: concentration that reaches the buyer through resellers.
  const gap = (r: { id: string; share: number }) => r.share - (e.by_counterparty.find((c) => c.id === r.id)?.share ?? 0);
  const top = [...e.by_provider].sort((a, b) => gap(b) - gap(a))[0];
  const topCp = e.by_counterparty.find((r) => r.id === top?.id);
  const hidden = top && gap(top) > 0.005
    ? h("p", { class: "callout", "data-testid": "hidden-concentration" },
      `${partyName(ctx, top.id)} physically provides ${pct(top.share)} of this capacity, `,
      `but is the direct counterparty for only ${pct(topCp?.share ?? 0)}: the rest reaches you through resellers.`)
    : null;
  const out: HTMLElement[] = [
    tiles([
      ["GPUs held", num(e.total.gpus), "total-gpus"],
      ["H100-equivalents", num(e.total.h100e), "total-h100e"],
      ["HHI by provider", e.hhi.toFixed(4), "hhi"],
      ["Physical providers", String(e.by_provider.length)],
    ]),
  ];
  if (hidden) out.push(hidden);
  out.push(
    h("div", { class: "two-col" },
      h("div", {}, h("h3", {}, "By physical provider"), shareBars(ctx, e.by_provider, "by-provider")),
      h("div", {}, h("h3", {}, "By direct counterparty"), shareBars(ctx, e.by_counterparty, "by-counterparty"))),
    h("div", {},
      h("h3", {}, "N-1: what is left after losing one provider"),
      bars(e.n_minus_1.map((r) => ({
        label: `without ${partyName(ctx, r.lost)}`,
        value: r.remaining_share,
        text: `${pct(r.remaining_share)} · ${num(r.remaining_h100e)} H100e`,
        cls: r.remaining_share < 0.5 ? "warn" : "",
      })), "n-minus-1")),
  );
  if (e.unbuilt) {
    out.push(h("div", { "data-testid": "unbuilt" },
      h("h3", {}, `Not yet built (as of ${day(e.unbuilt.asof)})`),
      h("p", {}, `${num(e.unbuilt.h100e)} H100e (${pct(e.unbuilt.share)}) depends on capacity not installed yet.`),
      bars(e.unbuilt.by_provider.map((r) => ({ label: partyName(ctx, r.id), value: r.share, text: `${pct(r.share)} · ${num(r.h100e)} H100e`, cls: "warn" })))));
  } else {
    out.push(h("p", { class: "muted" }, "Capacity not yet built: this server's exposure document has no build-out figures."));
  }
  out.push(
    h("h3", {}, "By site"),
    table(["site", "provider", "region", "GPUs", "H100e", "share"],
      e.by_site.map((r) => [r.id, partyName(ctx, r.provider), r.region, num(r.gpus), num(r.h100e), pct(r.share)])),
  );
  if (e.commitments.length) {
    out.push(h("h3", {}, "Commitments"),
      table(["commitment", "seller", "committed", "spent", "remaining"],
        e.commitments.map((c) => [c.id, partyName(ctx, c.seller), usdExact(c.usd), usdExact(c.spent_usd), usdExact(c.remaining_usd)])));
  }
  if (e.flags.length) out.push(h("h3", {}, "Flags"), h("ul", { class: "flags" }, ...e.flags.map((f) => h("li", {}, f))));
  return out;
}

async function drawTrend(ctx: Ctx, el: HTMLElement, pick: (t: number) => void) {
  const span = holdingSpan(ctx, ctx.buyer);
  if (!span) {
    el.append(panel("HHI over time", h("p", { class: "muted" }, "No holdings to chart.")));
    return;
  }
  const instants = monthStarts(span[0], span[1], 36);
  const docs = await pool(instants, 6, (t) => ctx.api.exposure(ctx.buyer, rfc3339(t)));
  const pts = docs.map((d, i) => [instants[i], d] as [number, Exposure]).filter(([, d]) => d.total.h100e > 0);
  el.append(panel("HHI over time",
    h("p", { class: "muted" }, `Exposure asked at ${instants.length} instants (month starts) while ${partyName(ctx, ctx.buyer)} holds capacity; click a point to see that instant.`),
    lineChart([
      { name: "HHI by physical provider", points: pts.map(([t, d]) => [t, d.hhi]), cls: "a" },
      { name: "largest provider's share", points: pts.map(([t, d]) => [t, d.by_provider[0]?.share ?? 0]), cls: "b" },
      { name: "largest counterparty's share", points: pts.map(([t, d]) => [t, d.by_counterparty[0]?.share ?? 0]), cls: "c" },
    ], { yFormat: (v) => v.toFixed(2), yMin: 0, yMax: 1, testid: "hhi-chart", onPick: pick })));
}
