// Invoices and margins per month (GET /invoices?period=YYYY-MM, whose
// document carries the month's margins the caller may see, else
// GET /margins?from=YYYY-MM&to=YYYY-MM; the documents of second-wave.md
// "Settlement", as `cascade bill --json` prints them). Each line can show its supply chain, from the physical
// provider to the buyer, through GET /contracts/{id}/chain.

import { ApiError, NotAvailable, pool } from "../api";
import { lineChart } from "../charts";
import { clear, errorBox, h, panel, table, unavailable } from "../dom";
import { Dec, monthStarts, usdExact, usdShort } from "../fmt";
import { type Ctx, partyName } from "../session";

export interface InvoiceLine {
  kind: string;
  contract?: string;
  commitment?: string;
  gpu_hours?: string;
  usd: string;
}
export interface Invoice {
  seller: string;
  buyer: string;
  lines: InvoiceLine[];
  total_usd: string;
}
export interface Margin {
  party: string;
  revenue_usd: string;
  cost_of_resold_usd: string;
  margin_usd: string;
  idle_cost_usd: string;
}
export interface Bill {
  period: string;
  invoices: Invoice[];
  margins?: Margin[];
}

const month = (t: number) => new Date(t).toISOString().slice(0, 7);

async function marginsOf(ctx: Ctx, bill: Bill, period: string): Promise<Margin[] | null> {
  if (bill.margins) return bill.margins;
  try {
    const m = await ctx.api.optional<Margin[] | { margins: Margin[] }>("/margins", `/margins?from=${period}&to=${period}`);
    return Array.isArray(m) ? m : m.margins;
  } catch (e) {
    if (e instanceof NotAvailable) return null;
    throw e;
  }
}

function chainButton(ctx: Ctx, id: string): HTMLElement {
  const out = h("span", { class: "chain-inline" });
  const b = h("button", { type: "button", class: "link" }, "chain");
  b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      const ch = await ctx.api.chain(id);
      const parties = [...ch.chain].reverse().map((l) => (l.seller ? partyName(ctx, l.seller) : "undisclosed"));
      const last = ch.chain[0];
      out.textContent = `${ch.physical_provider} (${ch.root_site}) › ${parties.slice(1).join(" › ")}${parties.length > 1 ? " › " : ""}${last.buyer ? partyName(ctx, last.buyer) : ""}`;
    } catch (e) {
      out.textContent = e instanceof Error ? e.message : String(e);
    }
  });
  out.append(b);
  return out;
}

function invoiceTable(ctx: Ctx, inv: Invoice): HTMLElement {
  return h("div", { class: "invoice" },
    h("h3", {}, `${partyName(ctx, inv.seller)} → ${partyName(ctx, inv.buyer)}: ${usdExact(inv.total_usd)}`),
    table(["line", "item", "GPU-hours", "USD", "supply chain"], inv.lines.map((l) => [
      l.kind.replace("_", "-"),
      l.contract ?? l.commitment ?? "",
      l.gpu_hours ?? "",
      usdExact(l.usd),
      l.contract ? chainButton(ctx, l.contract) : "",
    ])));
}

export async function invoicesView(ctx: Ctx, el: HTMLElement): Promise<void> {
  const template = "/invoices";
  let period = ctx.defaultAt.slice(0, 7);
  let bill: Bill;
  try {
    bill = await ctx.api.optional<Bill>(template, `/invoices?period=${period}`);
  } catch (e) {
    if (e instanceof NotAvailable) {
      el.append(unavailable(`GET ${template}?period=YYYY-MM`, "the invoices and margins view"));
      return;
    }
    throw e;
  }
  const detail = h("div", {});
  const picker = h("input", { type: "month", value: period, "aria-label": "Billing month" });
  const draw = async (b: Bill) => {
    clear(detail);
    if (b.invoices.length === 0) detail.append(h("p", { class: "muted" }, `No invoices for ${b.period}.`));
    detail.append(...b.invoices.map((i) => invoiceTable(ctx, i)));
    const m = await marginsOf(ctx, b, b.period);
    if (m === null) detail.append(unavailable("GET /margins?from=&to=", "the margins table"));
    else if (m.length) {
      detail.append(h("h3", {}, "Margins"), table(["reseller", "revenue", "cost of resold", "margin", "idle cost"],
        m.map((r) => [partyName(ctx, r.party), usdExact(r.revenue_usd), usdExact(r.cost_of_resold_usd), usdExact(r.margin_usd), usdExact(r.idle_cost_usd)])));
    }
  };
  picker.addEventListener("change", async () => {
    if (!picker.value) return;
    period = picker.value;
    try {
      await draw(await ctx.api.get<Bill>(`/invoices?period=${period}`));
    } catch (e) {
      clear(detail);
      detail.append(errorBox(e));
    }
  });
  el.append(panel("Invoices", h("div", { class: "toolbar" }, h("label", {}, "Month ", picker)), detail));
  await draw(bill);

  // Month by month over the buyer's contracts: what it is billed, and
  // what it bills (a reseller's revenue).
  const mine = ctx.contracts.filter((c) => c.buyer === ctx.buyer || c.seller === ctx.buyer);
  if (mine.length === 0) return;
  const from = Math.min(...mine.map((c) => Date.parse(c.start)));
  const to = Math.max(...mine.map((c) => Date.parse(c.end)));
  const months = monthStarts(from, to, 24);
  const bills = await pool(months, 4, (t) => ctx.api.get<Bill>(`/invoices?period=${month(t)}`).catch((e) => {
    if (e instanceof ApiError) return null;
    throw e;
  }));
  const sum = (b: Bill | null, f: (i: Invoice) => boolean) =>
    (b?.invoices ?? []).filter(f).reduce((a, i) => a.add(Dec.parse(i.total_usd)), Dec.zero).toNumber();
  el.append(panel(`Month by month for ${partyName(ctx, ctx.buyer)}`,
    lineChart([
      { name: "billed to it", points: months.map((t, i) => [t, sum(bills[i], (x) => x.buyer === ctx.buyer)]), step: true, cls: "a" },
      { name: "billed by it", points: months.map((t, i) => [t, sum(bills[i], (x) => x.seller === ctx.buyer)]), step: true, cls: "b" },
    ], { yFormat: usdShort, yMin: 0, testid: "invoices-chart" })));
}
