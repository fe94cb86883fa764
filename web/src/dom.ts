// Tiny DOM helpers: every text goes through textContent (never innerHTML),
// so names from the API cannot inject markup.

type Attrs = Record<string, string | number | boolean | undefined | null | EventListener>;
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  setAttrs(e, attrs);
  append(e, children);
  return e;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  setAttrs(e, attrs);
  append(e, children);
  return e;
}

function setAttrs(e: Element, attrs: Attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === "function") e.addEventListener(k.replace(/^on/, ""), v);
    else if (k === "class") e.setAttribute("class", String(v));
    // Through the CSSOM: the page's Content-Security-Policy forbids inline
    // style attributes in markup.
    else if (k === "style") (e as HTMLElement).style.cssText = String(v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
}

function append(e: Element, children: Child[]) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
}

export function clear(e: Element) {
  while (e.firstChild) e.removeChild(e.firstChild);
}

/** A table in a horizontally scrolling box, so narrow screens never overflow. */
export function table(head: string[], rows: Child[][], cls = ""): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: cls },
      h("thead", {}, h("tr", {}, ...head.map((t) => h("th", {}, t)))),
      h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c))))),
    ),
  );
}

export function panel(title: string, ...children: Child[]): HTMLElement {
  return h("section", { class: "panel" }, h("h2", {}, title), ...children);
}

/** The panel a view shows when its API route is not on this server yet. */
export function unavailable(route: string, what: string): HTMLElement {
  return h(
    "section",
    { class: "panel unavailable", "data-unavailable": route },
    h("h2", {}, "Not available on this server"),
    h(
      "p",
      {},
      `This server does not answer ${route}, which ${what} needs. `,
      "The view lights up once the service is upgraded to a build that has the route.",
    ),
  );
}

export function errorBox(e: unknown): HTMLElement {
  const msg = e instanceof Error ? e.message : String(e);
  return h("div", { class: "error", role: "alert" }, msg);
}

export function loading(): HTMLElement {
  return h("p", { class: "loading" }, "Loading…");
}
