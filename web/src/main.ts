import "./style.css";
import { ApiError } from "./api";
import { clear, errorBox, h, loading } from "./dom";
import { type Ctx, partyName, savedToken, saveToken, signIn } from "./session";
import { buildoutView } from "./views/buildout";
import { commitmentsView } from "./views/commitments";
import { exposureView } from "./views/exposure";
import { graphView } from "./views/graph";
import { invoicesView } from "./views/invoices";
import { planView } from "./views/plan";
import { simulationView } from "./views/simulation";

interface View {
  id: string;
  title: string;
  render: (ctx: Ctx, el: HTMLElement) => Promise<void>;
}

const VIEWS: View[] = [
  { id: "graph", title: "Supply chain", render: graphView },
  { id: "exposure", title: "Exposure", render: exposureView },
  { id: "buildout", title: "Build-out", render: buildoutView },
  { id: "commitments", title: "Commitments", render: commitmentsView },
  { id: "plan", title: "Plan", render: planView },
  { id: "simulation", title: "Simulation", render: simulationView },
  { id: "invoices", title: "Invoices", render: invoicesView },
];

// UI paths live under /ui/ so that none of them is also an API route
// (`/exposure`, `/plan`, ... are the API's); the server answers any
// unknown path a browser asks for with this page.
const PREFIX = "/ui/";

const app = document.getElementById("app")!;
let ctx: Ctx | null = null;

function viewFromPath(): View {
  const id = location.pathname.startsWith(PREFIX) ? location.pathname.slice(PREFIX.length).split("/")[0] : "";
  return VIEWS.find((v) => v.id === id) ?? VIEWS[0];
}

function go(view: View, replace = false) {
  const url = PREFIX + view.id + location.search;
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  void show();
}

let generation = 0;

async function show() {
  if (!ctx) return;
  const view = viewFromPath();
  if (!location.pathname.startsWith(PREFIX + view.id)) history.replaceState(null, "", PREFIX + view.id);
  const gen = ++generation;
  document.body.dataset.ready = "";
  for (const a of app.querySelectorAll<HTMLAnchorElement>("nav a")) {
    a.classList.toggle("active", a.dataset.view === view.id);
    if (a.dataset.view === view.id) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const main = app.querySelector("main")!;
  clear(main);
  const el = h("div", { class: `view view-${view.id}` });
  main.append(el, loading());
  document.title = `${view.title} · Cascade`;
  try {
    await view.render(ctx, el);
  } catch (e) {
    if (gen === generation) el.append(errorBox(e));
    if (e instanceof ApiError && e.status === 401) return signOut("The server no longer accepts this token.");
  } finally {
    main.querySelector(".loading:last-child")?.remove();
  }
  if (gen === generation) {
    document.body.dataset.ready = view.id;
    performance.mark(`cascade:rendered:${view.id}`);
  }
}

function signOut(message?: string) {
  saveToken(null);
  ctx = null;
  renderSignIn(message);
}

function renderShell(c: Ctx) {
  clear(app);
  const who = c.me.admin ? "admin" : partyName(c, c.me.party);
  const buyerPick = c.me.admin
    ? h(
        "label",
        { class: "buyer-pick" },
        "Buyer ",
        (() => {
          const sel = h("select", { "aria-label": "Buyer the views are about" },
            ...c.parties.map((p) => h("option", { value: p.id, selected: p.id === c.buyer }, p.name ?? p.id)));
          sel.addEventListener("change", () => {
            c.buyer = sel.value;
            void show();
          });
          return sel;
        })(),
      )
    : null;
  const nav = h(
    "nav",
    { "aria-label": "Views" },
    ...VIEWS.map((v) => {
      const a = h("a", { href: PREFIX + v.id, "data-view": v.id }, v.title);
      a.addEventListener("click", (ev) => {
        ev.preventDefault();
        go(v);
      });
      return a;
    }),
  );
  const out = h("button", { type: "button", class: "link" }, "Sign out");
  out.addEventListener("click", () => signOut());
  app.append(
    h(
      "header",
      {},
      h("div", { class: "brand" }, h("strong", {}, "Cascade"), h("span", { class: "muted" }, " compute supply chain")),
      h("div", { class: "who" }, h("span", { "data-testid": "who" }, `Signed in as ${who}`), buyerPick, out),
    ),
    nav,
    h("main", {}),
  );
}

function renderSignIn(message?: string) {
  clear(app);
  const input = h("input", {
    type: "password",
    name: "token",
    id: "token",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "cascade_…",
    required: true,
  });
  const status = h("div", { class: "signin-status", role: "status" }, message ?? "");
  const form = h(
    "form",
    { class: "signin", "aria-label": "Sign in" },
    h("h1", {}, "Cascade"),
    h("p", { class: "muted" }, "Sign in with an API token. The dashboard shows exactly what the token may see."),
    h("label", { for: "token" }, "Token"),
    input,
    h("button", { type: "submit" }, "Sign in"),
    status,
    h("p", { class: "hint muted" }, "A party token comes from ", h("code", {}, "cascade token create --party ID"), "."),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void start(input.value.trim(), status);
  });
  app.append(h("main", { class: "signin-page" }, form));
  input.focus();
}

async function start(token: string, status?: HTMLElement) {
  if (status) status.textContent = "Signing in…";
  try {
    ctx = await signIn(token);
  } catch (e) {
    const msg =
      e instanceof ApiError && e.status === 401
        ? "The server does not know this token."
        : e instanceof Error
          ? e.message
          : String(e);
    saveToken(null);
    if (status) {
      status.textContent = msg;
      status.classList.add("error");
    } else renderSignIn(msg);
    return;
  }
  saveToken(token);
  renderShell(ctx);
  await show();
}

window.addEventListener("popstate", () => void show());

const saved = savedToken();
if (saved) {
  app.append(loading());
  void start(saved);
}
else renderSignIn();
