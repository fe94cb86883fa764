// The supply chain as a directed graph: physical sites (with the provider
// that owns them) on the left, through resellers, to buyers on the right.
// Parties and sites are nodes; contracts are edges, merged per pair of
// nodes (width by GPUs) so that 500 contracts among 50 parties stay
// readable. Layout: dagre (layered, Sugiyama style).

import dagre from "@dagrejs/dagre";
import { type Chain, type Contract, pool } from "../api";
import { clear, h, panel, s, table } from "../dom";
import { day, num, usdExact } from "../fmt";
import { type Ctx, partyName } from "../session";

type Item =
  | { kind: "contract"; id: string; gpus: number; c: Contract }
  | { kind: "upstream"; key: string; tier: number; gpus: number; gpu: string; start: string; end: string; of: string }
  | { kind: "owns" };

interface GNode {
  id: string;
  kind: "site" | "party" | "anon";
  label: string;
  sub: string;
  me: boolean;
}

interface GEdge {
  from: string;
  to: string;
  items: Item[];
  gpus: number;
}

/** GPUs a contract reaches with its top-ups (its peak amount). */
function peakGpus(c: { gpus: number; amendments?: { gpus: number }[] }): number {
  let g = c.gpus;
  let peak = g;
  for (const a of c.amendments ?? []) {
    g += a.gpus;
    peak = Math.max(peak, g);
  }
  return peak;
}

export interface Graph {
  nodes: Map<string, GNode>;
  edges: Map<string, GEdge>;
}

/**
 * Builds the graph from what the token sees. A contract whose backing the
 * caller may not see (a buyer's resale from upstream) has its chain asked
 * for: links above the caller come without id, parties or price, so they
 * enter the graph as "undisclosed" tiers of that contract.
 */
export async function buildGraph(ctx: Ctx): Promise<Graph> {
  const nodes = new Map<string, GNode>();
  const edges = new Map<string, GEdge>();
  const me = ctx.me.admin ? null : ctx.me.party;
  const siteOf = new Map(ctx.sites.map((x) => [x.id, x]));
  const party = (id: string) => {
    const key = `party:${id}`;
    if (!nodes.has(key)) {
      const owns = ctx.sites.filter((x) => x.owner === id).length;
      nodes.set(key, {
        id: key,
        kind: "party",
        label: partyName(ctx, id),
        sub: owns > 0 ? `provider · ${owns} site${owns > 1 ? "s" : ""}` : id,
        me: id === me,
      });
    }
    return key;
  };
  const site = (id: string) => {
    const key = `site:${id}`;
    if (!nodes.has(key)) {
      const x = siteOf.get(id);
      nodes.set(key, { id: key, kind: "site", label: id, sub: x ? `${x.owner} · ${x.region}` : "site", me: false });
      if (x) edge(party(x.owner), key, { kind: "owns" }, 0);
    }
    return key;
  };
  const anon = (key: string, tier: number) => {
    if (!nodes.has(key)) nodes.set(key, { id: key, kind: "anon", label: "undisclosed", sub: `tier ${tier} reseller`, me: false });
    return key;
  };
  function edge(from: string, to: string, item: Item, gpus: number) {
    const key = `${from}→${to}`;
    let e = edges.get(key);
    if (!e) {
      e = { from, to, items: [], gpus: 0 };
      edges.set(key, e);
    }
    e.items.push(item);
    e.gpus += gpus;
  }

  const hidden: Contract[] = [];
  for (const c of ctx.contracts) {
    const g = peakGpus(c);
    const from = c.site ? site(c.site) : party(c.seller);
    edge(from, party(c.buyer), { kind: "contract", id: c.id, gpus: g, c }, g);
    if (!c.site && !c.backed_by) hidden.push(c);
  }
  const chains = await pool(hidden, 8, (c) => ctx.api.chain(c.id));
  chains.forEach((ch, i) => {
    const c = hidden[i];
    const last = ch.chain.length - 1;
    // The buyer of link k is the seller of link k-1.
    const sellerNode = (k: number): string => {
      const l = ch.chain[k];
      if (l.seller) return party(l.seller);
      return anon(`anon:${c.id}:${k}`, k);
    };
    for (let k = 1; k <= last; k++) {
      const l = ch.chain[k];
      const from = k === last ? site(ch.root_site) : sellerNode(k);
      const g = peakGpus(l);
      edge(from, sellerNode(k - 1), {
        kind: "upstream", key: `up:${c.id}:${k}`, tier: k, gpus: g, gpu: l.gpu, start: l.start, end: l.end, of: c.id,
      }, g);
    }
  });
  return { nodes, edges };
}

const CHAR_W = 7.2;

function layout(g: Graph) {
  const d = new dagre.graphlib.Graph({ compound: g.edges.size > 150 });
  // network-simplex ranks best but grows fast with edges; on a big market
  // longest-path (buyers aligned on the right) lays out in a fraction of
  // the time (360 merged edges: 0.6 s instead of 1.7 s).
  const big = g.edges.size > 150;
  d.setGraph({
    rankdir: "LR", ranksep: big ? 140 : 90, nodesep: big ? 12 : 18, edgesep: 6, marginx: 12, marginy: 12,
    ranker: big ? "longest-path" : "network-simplex",
  });
  d.setDefaultEdgeLabel(() => ({}));
  // dagre's first ordering follows insertion order: each provider followed
  // by its sites keeps a provider's sites next to each other (and next to
  // it) on a big market, where they were scattered across the whole height.
  const ownsOf = new Map<string, string[]>();
  for (const e of g.edges.values()) {
    if (e.items.every((i) => i.kind === "owns")) ownsOf.set(e.from, [...(ownsOf.get(e.from) ?? []), e.to]);
  }
  const ordered: GNode[] = [];
  const placed = new Set<string>();
  const put = (id: string) => {
    const n = g.nodes.get(id);
    if (n && !placed.has(id)) {
      placed.add(id);
      ordered.push(n);
    }
  };
  for (const [prov, sites] of ownsOf) {
    put(prov);
    for (const x of sites.sort()) put(x);
  }
  for (const id of g.nodes.keys()) put(id);
  for (const n of ordered) {
    const w = Math.max(n.label.length, n.sub.length) * CHAR_W + 24;
    d.setNode(n.id, { width: Math.max(90, w), height: 40 });
  }
  // On a big market, each provider and its sites form a cluster (dagre's
  // compound layout keeps a cluster's nodes together across ranks).
  if (big) {
    for (const [prov, sites] of ownsOf) {
      if (sites.length < 2) continue;
      const c = `cluster:${prov}`;
      d.setNode(c, {});
      d.setParent(prov, c);
      for (const x of sites) d.setParent(x, c);
    }
  }
  for (const [k, e] of g.edges) {
    // A provider-to-site edge weighs most: dagre then keeps it short and
    // straight, so a provider sits beside its sites.
    const owns = e.items.every((i) => i.kind === "owns");
    d.setEdge(e.from, e.to, { key: k, weight: owns ? 8 : Math.max(1, Math.log10(1 + e.gpus)) });
  }
  dagre.layout(d);
  return d;
}

function pathOf(points: { x: number; y: number }[]): string {
  if (points.length === 0) return "";
  let d = `M${points[0].x},${points[0].y}`;
  if (points.length === 2) return `${d}L${points[1].x},${points[1].y}`;
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i];
    const q = points[i + 1];
    const mx = i === points.length - 2 ? q.x : (p.x + q.x) / 2;
    const my = i === points.length - 2 ? q.y : (p.y + q.y) / 2;
    d += `Q${p.x},${p.y} ${mx},${my}`;
  }
  return d;
}

function itemKey(i: Item): string {
  return i.kind === "contract" ? `c:${i.id}` : i.kind === "upstream" ? i.key : "owns";
}

export async function graphView(ctx: Ctx, el: HTMLElement): Promise<void> {
  const g = await buildGraph(ctx);
  const d = layout(g);
  // dagre's size covers the nodes; edges may bend outside it.
  let x0 = 0;
  let y0 = 0;
  let x1 = d.graph().width ?? 600;
  let y1 = d.graph().height ?? 300;
  for (const e of d.edges()) {
    for (const p of (d.edge(e) as { points: { x: number; y: number }[] }).points) {
      x0 = Math.min(x0, p.x - 8);
      y0 = Math.min(y0, p.y - 8);
      x1 = Math.max(x1, p.x + 8);
      y1 = Math.max(y1, p.y + 8);
    }
  }
  const gw = x1 - x0;
  const gh = y1 - y0;
  const maxGpus = Math.max(1, ...[...g.edges.values()].map((e) => e.gpus));
  const svg = s("svg", {
    class: g.edges.size > 150 ? "graph big" : "graph",
    viewBox: `${x0} ${y0} ${gw} ${gh}`,
    role: "img",
    "aria-label": "Supply chain graph",
    "data-testid": "graph",
  });
  svg.append(
    s("defs", {},
      s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: "userSpaceOnUse", orient: "auto" },
        s("path", { d: "M0,0L10,5L0,10z", class: "arrowhead" }))),
  );
  const edgeEls = new Map<string, SVGGElement>();
  const itemToEdge = new Map<string, string>();
  const info = h("div", { class: "graph-info", "data-testid": "graph-info" },
    h("p", { class: "muted" }, "Select a contract (in the list below, or an edge) to see its chain."));
  const showLabels = g.edges.size <= 80;
  for (const [k, e] of g.edges) {
    const de = d.edge(e.from, e.to) as { points: { x: number; y: number }[] };
    const owns = e.items.every((i) => i.kind === "owns");
    const width = owns ? 1.2 : 1.5 + 12 * (e.gpus / maxGpus);
    const upstream = e.items.every((i) => i.kind === "upstream");
    const nContracts = e.items.filter((i) => i.kind !== "owns").length;
    const title = owns
      ? `${g.nodes.get(e.from)!.label} owns ${g.nodes.get(e.to)!.label}`
      : `${g.nodes.get(e.from)!.label} → ${g.nodes.get(e.to)!.label}: ${nContracts} contract${nContracts > 1 ? "s" : ""}, ${num(e.gpus)} GPUs`;
    const ge = s("g", {
      class: `edge${owns ? " owns" : ""}${upstream ? " upstream" : ""}`,
      "data-edge": k,
      tabindex: owns ? undefined : 0,
    },
      s("path", { d: pathOf(de.points), "stroke-width": width, class: "edge-line", "marker-end": "url(#arrow)" }),
      s("path", { d: pathOf(de.points), class: "edge-hit" }),
      s("title", {}, title));
    if (showLabels && !owns) {
      const mid = de.points[Math.floor(de.points.length / 2)];
      ge.append(s("text", { x: mid.x, y: mid.y - width / 2 - 3, class: "edge-label", "text-anchor": "middle" }, num(e.gpus)));
    }
    if (!owns) {
      const pick = () => showEdge(e);
      ge.addEventListener("click", pick);
      ge.addEventListener("keydown", (ev) => {
        if ((ev as KeyboardEvent).key === "Enter") pick();
      });
    }
    svg.append(ge);
    edgeEls.set(k, ge);
    for (const i of e.items) itemToEdge.set(itemKey(i), k);
  }
  const nodeEls = new Map<string, SVGGElement>();
  for (const n of g.nodes.values()) {
    const dn = d.node(n.id);
    const gn = s("g", { class: `node ${n.kind}${n.me ? " me" : ""}`, "data-node": n.id, transform: `translate(${dn.x - dn.width / 2},${dn.y - dn.height / 2})` },
      s("rect", { width: dn.width, height: dn.height, rx: n.kind === "site" ? 2 : 8 }),
      s("text", { x: dn.width / 2, y: 17, "text-anchor": "middle", class: "node-label" }, n.label),
      s("text", { x: dn.width / 2, y: 31, "text-anchor": "middle", class: "node-sub" }, n.sub),
      s("title", {}, `${n.label} (${n.sub})`));
    svg.append(gn);
    nodeEls.set(n.id, gn);
  }

  function clearHighlight() {
    svg.classList.remove("focus");
    for (const e of edgeEls.values()) e.classList.remove("hl", "down");
    for (const n of nodeEls.values()) n.classList.remove("hl");
  }

  function mark(edgeKey: string | undefined, cls: "hl" | "down") {
    const e = edgeKey ? g.edges.get(edgeKey) : undefined;
    if (!edgeKey || !e) return;
    edgeEls.get(edgeKey)?.classList.add(cls);
    nodeEls.get(e.from)?.classList.add("hl");
    nodeEls.get(e.to)?.classList.add("hl");
  }

  function showEdge(e: GEdge) {
    clearHighlight();
    svg.classList.add("focus");
    mark(`${e.from}→${e.to}`, "hl");
    clear(info);
    const rows = e.items.filter((i) => i.kind !== "owns").map((i) => {
      if (i.kind === "contract") {
        const b = h("button", { type: "button", class: "link", "data-contract": i.id }, i.id);
        b.addEventListener("click", () => void select(i.c));
        return [b, i.c.gpu, num(i.gpus), `${day(i.c.start)} → ${day(i.c.end)}`];
      }
      if (i.kind === "upstream") return [`undisclosed (tier ${i.tier} above ${i.of})`, i.gpu, num(i.gpus), `${day(i.start)} → ${day(i.end)}`];
      return [];
    });
    info.append(
      h("h3", {}, `${g.nodes.get(e.from)!.label} → ${g.nodes.get(e.to)!.label}`),
      table(["contract", "class", "GPUs", "window"], rows),
    );
  }

  async function select(c: Contract) {
    clearHighlight();
    svg.classList.add("focus");
    for (const b of list.querySelectorAll("tr")) b.classList.toggle("selected", b.dataset.contract === c.id);
    clear(info);
    info.append(h("p", { class: "loading" }, `Loading the chain of ${c.id}…`));
    let ch: Chain;
    try {
      ch = await ctx.api.chain(c.id);
    } catch (e) {
      clear(info);
      info.append(h("div", { class: "error" }, e instanceof Error ? e.message : String(e)));
      return;
    }
    // Map each link to the graph edge holding it: a link with an id is
    // that contract's edge; a link without one is an undisclosed tier
    // counted from the last contract the caller could see.
    let visible = ch.chain[0].id ?? c.id;
    let visibleTier = 0;
    ch.chain.forEach((l, k) => {
      if (l.id) {
        visible = l.id;
        visibleTier = k;
        mark(itemToEdge.get(`c:${l.id}`), "hl");
      } else {
        mark(itemToEdge.get(`up:${visible}:${k - visibleTier}`), "hl");
      }
    });
    mark(`party:${ch.physical_provider}→site:${ch.root_site}`, "hl");
    for (const r of ch.resold) mark(itemToEdge.get(`c:${r.id}`), "down");
    clear(info);
    info.append(chainPanel(ctx, c, ch));
  }

  // The contract list: the way in for keyboards, phones and big graphs.
  const filter = h("input", { type: "search", placeholder: "Filter contracts (id, party, site, class)", "aria-label": "Filter contracts" });
  const list = h("tbody", {});
  const rowsFor = (q: string) => {
    clear(list);
    const needle = q.toLowerCase();
    const shown = ctx.contracts.filter((c) =>
      !needle || [c.id, c.seller, c.buyer, c.gpu, c.root_site, c.physical_provider, c.region].some((x) => x.toLowerCase().includes(needle)));
    for (const c of shown.slice(0, 500)) {
      const b = h("button", { type: "button", class: "link", "data-contract": c.id }, c.id);
      b.addEventListener("click", () => void select(c));
      list.append(h("tr", { "data-contract": c.id },
        h("td", {}, b), h("td", {}, partyName(ctx, c.seller)), h("td", {}, partyName(ctx, c.buyer)),
        h("td", {}, `${num(peakGpus(c))} ${c.gpu}`), h("td", {}, `${c.physical_provider} · ${c.root_site}`),
        h("td", {}, `${day(c.start)} → ${day(c.end)}`)));
    }
    if (shown.length > 500) list.append(h("tr", {}, h("td", { colspan: 6, class: "muted" }, `${shown.length - 500} more: narrow the filter`)));
  };
  filter.addEventListener("input", () => rowsFor(filter.value));
  rowsFor("");

  // At zoom 1 the graph is drawn at its natural size, so labels stay
  // legible; a graph wider than the box scrolls inside it (the page itself
  // never scrolls sideways). "Fit" shrinks it to the box to see it whole.
  let zoom = 1;
  let fit = false;
  const box = h("div", { class: "graph-box" }, svg);
  const setZoom = (z: number) => {
    zoom = Math.max(0.25, Math.min(4, z));
    svg.style.width = fit ? "100%" : `${Math.round(gw * zoom)}px`;
    svg.style.maxWidth = fit ? "100%" : "none";
    svg.style.maxHeight = fit ? "80vh" : "none";
  };
  setZoom(1);
  const zin = h("button", { type: "button", "aria-label": "Zoom in" }, "+");
  const zout = h("button", { type: "button", "aria-label": "Zoom out" }, "−");
  const zreset = h("button", { type: "button" }, "Fit");
  zin.addEventListener("click", () => {
    fit = false;
    setZoom(zoom * 1.25);
  });
  zout.addEventListener("click", () => {
    fit = false;
    setZoom(zoom / 1.25);
  });
  zreset.addEventListener("click", () => {
    fit = true;
    setZoom(1);
    clearHighlight();
  });

  const parties = [...g.nodes.values()].filter((n) => n.kind === "party").length;
  const sites = [...g.nodes.values()].filter((n) => n.kind === "site").length;
  el.append(
    panel(
      "Supply chain",
      h("p", { class: "muted" },
        `${num(ctx.contracts.length)} contracts visible to this token, ${parties} parties, ${sites} sites. `,
        "Edges run from physical sites through resellers to buyers; width is GPUs (peak, with top-ups). ",
        "Dashed edges are upstream contracts the token may not see: only their tier, class, GPUs and window are shown."),
      h("div", { class: "toolbar" }, zin, zout, zreset,
        h("span", { class: "legend" },
          h("span", { class: "legend-item" }, h("i", { class: "swatch node-site" }), "site"),
          h("span", { class: "legend-item" }, h("i", { class: "swatch node-party" }), "party"),
          h("span", { class: "legend-item" }, h("i", { class: "swatch node-me" }), "you"),
          h("span", { class: "legend-item" }, h("i", { class: "swatch node-anon" }), "undisclosed"))),
      box,
      info,
    ),
    panel(
      "Contracts",
      filter,
      h("div", { class: "table-wrap" },
        h("table", { class: "contracts", "data-testid": "contract-list" },
          h("thead", {}, h("tr", {}, ...["contract", "seller", "buyer", "GPUs", "physically at", "window"].map((t) => h("th", {}, t)))),
          list)),
    ),
  );
}

function chainPanel(ctx: Ctx, c: Contract, ch: Chain): HTMLElement {
  // From the ground up: the site, then each tier down to the contract.
  const steps = [...ch.chain].reverse().map((l) => {
    const who = l.seller && l.buyer ? `${partyName(ctx, l.seller)} → ${partyName(ctx, l.buyer)}` : "undisclosed parties";
    const price = l.price_per_gpu_hour ? ` at ${usdExact(l.price_per_gpu_hour)}/GPU-hour` : "";
    return h("li", { class: l.id ? "" : "undisclosed", "data-tier": l.tier },
      h("strong", {}, l.id ?? `tier ${l.tier}: undisclosed contract`),
      ` — ${who}: ${num(peakGpus(l))} ${l.gpu}, ${day(l.start)} → ${day(l.end)}${price}`);
  });
  const resold = ch.resold.map((r) => h("li", {},
    h("strong", {}, r.id), ` — resold by ${partyName(ctx, r.seller)} to ${partyName(ctx, r.buyer)}: ${num(r.gpus)} ${r.gpu}`,
    r.price_per_gpu_hour ? ` at ${usdExact(r.price_per_gpu_hour)}/GPU-hour` : ""));
  return h("div", { class: "chain", "data-testid": "chain", "data-contract": c.id },
    h("h3", {}, `Chain of ${c.id}`),
    h("p", {}, "Physically at ", h("strong", { "data-testid": "chain-provider" }, ch.physical_provider), " · ",
      h("strong", { "data-testid": "chain-site" }, ch.root_site), ` (${ch.region}), ${ch.tiers} tier${ch.tiers > 1 ? "s" : ""}.`),
    h("ol", { class: "chain-steps" }, ...steps),
    resold.length ? h("div", {}, h("h4", {}, "Resold from it"), h("ul", {}, ...resold)) : null);
}
