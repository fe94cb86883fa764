// Build-out: installed, sold and free capacity per site over time, with
// power. Data: GET /sites/{id}/timeline (second wave). Until the server has
// that route, the view says so.
//
// Document: `cascade buildout --json` for one site (format's TimelineDoc):
//   {"from", "to", "asof"?, "sites": [{"site", "provider", "region",
//    "months": [{"month": "2026-06", "power_mw"?, "drawn_mw",
//                "classes": [{"gpu", "installed_gpus", "sold_gpus", "free_gpus",
//                             "min_free_gpus"?, "unbuilt_gpus"?}]}]}]}

import { NotAvailable } from "../api";
import { lineChart } from "../charts";
import { h, panel, table, unavailable } from "../dom";
import { count, num } from "../fmt";
import { type Ctx, h100e } from "../session";

export interface ClassMonth {
  gpu: string;
  installed_gpus: number;
  sold_gpus: number;
  free_gpus: number;
  min_free_gpus?: number;
  unbuilt_gpus?: number | null;
}

export interface SiteMonth {
  month: string;
  power_mw?: number | null;
  drawn_mw?: number;
  classes: ClassMonth[];
}

export interface Timeline {
  site: string;
  provider?: string;
  region?: string;
  asof?: string | null;
  months: SiteMonth[];
}

/** The route's document holds a list of sites; this view draws one. */
interface TimelineDoc {
  asof?: string | null;
  sites: Timeline[];
}

async function fetchTimeline(get: () => Promise<TimelineDoc>): Promise<Timeline> {
  const d = await get();
  const site = d.sites[0];
  if (!site) throw new Error("the timeline document has no site");
  return { ...site, asof: site.asof ?? d.asof };
}

export function monthMs(m: string): number {
  return Date.parse(/^\d{4}-\d{2}$/.test(m) ? `${m}-01T00:00:00Z` : m);
}

/** Sites worth showing first: where the buyer's capacity physically is, then its own. */
function relevantSites(ctx: Ctx): string[] {
  const held = ctx.contracts.filter((c) => c.buyer === ctx.buyer).map((c) => c.root_site);
  const own = ctx.sites.filter((s) => s.owner === ctx.buyer).map((s) => s.id);
  const rest = ctx.me.admin ? ctx.sites.map((s) => s.id) : [];
  return [...new Set([...held, ...own, ...rest])];
}

function siteTimeline(ctx: Ctx, t: Timeline): HTMLElement {
  const pts = t.months.map((m) => ({ t: monthMs(m.month), m }));
  const sum = (f: (c: ClassMonth) => number) => (m: SiteMonth) =>
    m.classes.reduce((a, c) => a + f(c) * h100e(ctx, c.gpu), 0);
  const series = [
    { name: "installed (H100e)", points: pts.map(({ t, m }) => [t, sum((c) => c.installed_gpus)(m)] as [number, number]), step: true, cls: "a" },
    { name: "sold (H100e)", points: pts.map(({ t, m }) => [t, sum((c) => c.sold_gpus)(m)] as [number, number]), step: true, cls: "b" },
    { name: "free (H100e)", points: pts.map(({ t, m }) => [t, sum((c) => c.free_gpus)(m)] as [number, number]), step: true, cls: "c" },
  ];
  if (pts.some(({ m }) => m.classes.some((c) => (c.unbuilt_gpus ?? 0) > 0))) {
    series.push({ name: "sold but not yet built (H100e)", points: pts.map(({ t, m }) => [t, sum((c) => c.unbuilt_gpus ?? 0)(m)] as [number, number]), step: true, cls: "e" });
  }
  const power = pts.some(({ m }) => m.power_mw != null || m.drawn_mw != null)
    ? lineChart([
      { name: "power installed (MW)", points: pts.filter(({ m }) => m.power_mw != null).map(({ t, m }) => [t, m.power_mw!] as [number, number]), step: true, cls: "d" },
      { name: "drawn by installed GPUs (MW)", points: pts.map(({ t, m }) => [t, m.drawn_mw ?? 0] as [number, number]), step: true, cls: "a" },
    ], { yFormat: (v) => `${num(v)} MW`, yMin: 0, height: 160 })
    : null;
  const last = t.months[t.months.length - 1];
  return panel(`${t.site}${t.provider ? ` · ${t.provider}` : ""}${t.region ? ` · ${t.region}` : ""}`,
    lineChart(series, { yFormat: count, yMin: 0, testid: `timeline-${t.site}` }),
    power,
    last
      ? h("details", {}, h("summary", {}, "Per class, month by month"),
        table(["month", "class", "installed", "sold", "free", "min free", "not yet built"],
          t.months.flatMap((m) => m.classes.map((c) => [m.month.slice(0, 7), c.gpu, num(c.installed_gpus), num(c.sold_gpus),
            num(c.free_gpus), c.min_free_gpus != null ? num(c.min_free_gpus) : "", c.unbuilt_gpus != null ? num(c.unbuilt_gpus) : ""]))))
      : h("p", { class: "muted" }, "No months in this timeline."));
}

export async function buildoutView(ctx: Ctx, el: HTMLElement): Promise<void> {
  const sites = relevantSites(ctx).slice(0, 24);
  if (sites.length === 0) {
    el.append(panel("Build-out", h("p", { class: "muted" }, "No sites to show.")));
    return;
  }
  const template = "/sites/{id}/timeline";
  const first = sites[0];
  let firstDoc: Timeline;
  try {
    firstDoc = await fetchTimeline(() =>
      ctx.api.optional<TimelineDoc>(template, `/sites/${encodeURIComponent(first)}/timeline`));
  } catch (e) {
    if (e instanceof NotAvailable) {
      el.append(unavailable(`GET ${template}`, "the build-out view (installed, sold and free capacity per site over time, with power)"));
      return;
    }
    throw e;
  }
  el.append(h("p", { class: "muted intro" }, "Installed, sold and free capacity per site, month by month, in H100-equivalents; power installed and drawn."),
    siteTimeline(ctx, firstDoc));
  for (const id of sites.slice(1)) {
    try {
      el.append(siteTimeline(ctx, await fetchTimeline(() =>
        ctx.api.get<TimelineDoc>(`/sites/${encodeURIComponent(id)}/timeline`))));
    } catch (e) {
      el.append(panel(id, h("p", { class: "error" }, e instanceof Error ? e.message : String(e))));
    }
  }
}
