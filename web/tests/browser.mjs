// Browser tests of the dashboard: a real `cascade serve` on 127.0.0.1 with
// the example loaded, driven in Debian's Chromium by playwright-core (which
// never downloads a browser of its own).
//
//   CASCADE_BIN=/path/to/cascade node tests/browser.mjs
//
// Screenshots go to docs/screenshots/ (SCREENSHOTS=0 to skip writing them);
// figures (page weight, first render) are printed at the end.

import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync, mkdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync, brotliCompressSync } from "node:zlib";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const web = resolve(here, "..");
const repo = resolve(web, "..");
const bin = process.env.CASCADE_BIN;
const browserPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
// SCREENSHOTS=0: none; SCREENSHOTS=DIR: into DIR; default docs/screenshots.
const shots = process.env.SCREENSHOTS === "0" ? null : resolve(process.env.SCREENSHOTS || join(repo, "docs", "screenshots"));
if (!bin || !existsSync(bin)) fail(`CASCADE_BIN must name the cascade binary (got ${bin ?? "nothing"})`);
if (!existsSync(browserPath)) fail(`no Chromium at ${browserPath} (apt-get install -y chromium)`);
if (shots) mkdirSync(shots, { recursive: true });

const tmp = mkdtempSync(join(tmpdir(), "cascade-web-"));
const children = [];
const figures = [];
let failures = 0;
let passed = 0;

function fail(msg) {
  console.error(`browser tests: ${msg}`);
  process.exit(2);
}

function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  rmSync(tmp, { recursive: true, force: true });
}
process.on("exit", cleanup);

async function check(name, f) {
  const t0 = performance.now();
  try {
    await f();
    passed++;
    console.log(`ok   ${name} (${Math.round(performance.now() - t0)} ms)`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}\n     ${String(e?.stack ?? e).split("\n").slice(0, 6).join("\n     ")}`);
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

function cascade(...args) {
  return execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function token(out) {
  const m = /cascade_[0-9a-f]{64}/.exec(out);
  if (!m) throw new Error(`no token in ${JSON.stringify(out)}`);
  return m[0];
}

/** Starts `cascade serve` on a free loopback port; resolves to its base URL. */
function serve(db, adminFile) {
  return new Promise((ok, ko) => {
    const p = spawn(bin, ["serve", "--database", db, "--listen", "127.0.0.1:0", "--admin-token-file", adminFile], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(p);
    let out = "";
    let err = "";
    const timer = setTimeout(() => ko(new Error(`cascade serve did not start: ${out} ${err}`)), 30_000);
    p.stdout.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    p.stderr.on("data", (d) => (err += d));
    p.on("exit", (code) => ko(new Error(`cascade serve exited with ${code}: ${err}`)));
  });
}

/** A 50-party, 500-contract market, deterministic, for the readability check. */
function largeScenario() {
  const L = ['name = "dashboard-scale"', "", '[[gpu]]\nid = "h100"\nh100e = 1.0\nwatts = 700', ""];
  const P = [...Array(10).keys()].map((i) => `p${i}`);
  const R = [...Array(20).keys()].map((i) => `r${i}`);
  const B = [...Array(20).keys()].map((i) => `b${i}`);
  for (const id of [...P, ...R, ...B]) L.push(`[[party]]\nid = "${id}"`);
  const sites = [];
  P.forEach((p, i) => {
    for (const k of [0, 1]) {
      const id = `${p}-site${k}`;
      sites.push({ id, owner: p });
      L.push(`[[site]]\nid = "${id}"\nowner = "${p}"\nregion = "region-${(i + k) % 6}"\ngpus = { h100 = 100000 }`);
    }
  });
  const win = 'start = 2026-01-01\nend = 2027-01-01';
  let n = 0;
  // 100 site contracts to resellers (5 each), resellable.
  for (let i = 0; i < 100; i++) {
    const s = sites[(i * 7) % sites.length];
    L.push(`[[contract]]\nid = "up-${i}"\nseller = "${s.owner}"\nbuyer = "${R[i % 20]}"\ngpu = "h100"\ngpus = 4000\n${win}\nprice_per_gpu_hour = "1.${10 + (i % 80)}"\nsite = "${s.id}"\nresale = true`);
    n++;
  }
  // 300 resales to buyers, 3 per backing contract.
  for (let i = 0; i < 300; i++) {
    const back = i % 100;
    L.push(`[[contract]]\nid = "re-${i}"\nseller = "${R[back % 20]}"\nbuyer = "${B[(i * 13 + Math.floor(i / 20)) % 20]}"\ngpu = "h100"\ngpus = 1000\n${win}\nprice_per_gpu_hour = "2.${10 + (i % 80)}"\nbacked_by = "up-${back}"`);
    n++;
  }
  // 100 direct site contracts to buyers.
  for (let i = 0; i < 100; i++) {
    const s = sites[(i * 3) % sites.length];
    L.push(`[[contract]]\nid = "dir-${i}"\nseller = "${s.owner}"\nbuyer = "${B[i % 20]}"\ngpu = "h100"\ngpus = 500\n${win}\nprice_per_gpu_hour = "2.00"\nsite = "${s.id}"`);
    n++;
  }
  if (n !== 500) throw new Error("scale scenario must have 500 contracts");
  return L.join("\n\n") + "\n";
}

const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

/** A page that records console errors, failed requests and every API body it receives. */
async function watchedPage(context, base) {
  const page = await context.newPage();
  const errors = [];
  const bodies = [];
  const offsite = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("request", (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith("data:")) offsite.push(r.url());
  });
  page.on("response", async (r) => {
    try {
      bodies.push({ url: r.url(), body: await r.text() });
    } catch {
      /* bodies of redirects and aborted requests are not available */
    }
  });
  return { page, errors, bodies, offsite };
}

async function signIn(page, base, tok) {
  await page.goto(base + "/");
  await page.fill("#token", tok);
  const t0 = Date.now();
  await page.click("form.signin button[type=submit]");
  await page.waitForSelector("body[data-ready=graph]", { timeout: 15_000 });
  return Date.now() - t0;
}

async function openView(page, id) {
  await page.click(`nav a[data-view=${id}]`);
  await page.waitForSelector(`body[data-ready=${id}]`, { timeout: 60_000 });
}

async function noHorizontalOverflow(page, what) {
  const o = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, w: window.innerWidth }));
  assert(o.sw <= o.w, `${what}: page is ${o.sw}px wide in a ${o.w}px window`);
}

async function shot(page, name, fullPage = true) {
  if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage });
}

const VIEWS = ["graph", "exposure", "buildout", "commitments", "plan", "simulation", "invoices"];
/** The route each second-wave view reads, and what it draws from real data. */
const ROUTE_OF = { buildout: "/sites/{id}/timeline", simulation: "/simulations", invoices: "/invoices" };
const READY_OF = {
  buildout: "[data-testid^=timeline-]",
  simulation: "[data-policy=held] .bars, [data-policy=held] svg",
  invoices: ".invoice table",
};

async function main() {
  const db = `sqlite://${join(tmp, "example.db")}`;
  const example = join(repo, "examples", "compute-chain-2025.toml");
  cascade("load", example, "--database", db);
  const openai = token(cascade("token", "create", "--party", "openai", "--database", db));
  const google = token(cascade("token", "create", "--party", "google", "--database", db));
  const adminFile = join(tmp, "admin-token");
  const base = await serve(db, adminFile);
  const admin = readFileSync(adminFile, "utf8").trim();

  // What the buyer must never see: prices of contracts it is not a party
  // to, unless the same figure is also a price it legitimately sees.
  const api = async (path, tok) => {
    const r = await fetch(base + path, { headers: { Authorization: `Bearer ${tok}`, Accept: "application/json" } });
    return r.json();
  };
  const all = await api("/contracts?limit=100000", admin);
  const mine = await api("/contracts?limit=100000", openai);
  const offers = await api("/offers", openai);
  const seen = new Set([...mine.map((c) => c.price_per_gpu_hour), ...offers.map((o) => o.price_per_gpu_hour)]);
  const mineIds = new Set(mine.map((c) => c.id));
  const hidden = all.filter((c) => !mineIds.has(c.id));
  const secretPrices = [...new Set(hidden.map((c) => c.price_per_gpu_hour))].filter((p) => !seen.has(p));
  const secretIds = hidden.map((c) => c.id);
  const apiPaths = Object.keys((await (await fetch(base + "/openapi.json")).json()).paths);
  assert(secretPrices.includes("1.85"), `the example's coreweave→google price 1.85 should be hidden from openai (${secretPrices})`);

  await check("serving: the page at /, page URLs fall back to it for browsers, API 404s stay JSON problems", async () => {
    const root = await fetch(base + "/");
    assert(root.ok && (root.headers.get("content-type") ?? "").startsWith("text/html"), "GET / is the page");
    const csp = root.headers.get("content-security-policy") ?? "";
    assert(csp.includes("default-src 'self'"), `CSP: ${csp}`);
    const nav = await fetch(base + "/ui/exposure", { headers: { Accept: "text/html,*/*;q=0.8" } });
    assert(nav.ok && (await nav.text()).includes("<div id=\"app\">"), "a page URL answers the page");
    const api404 = await fetch(base + "/no/such/route", { headers: { Accept: "application/json" } });
    assert(api404.status === 404, `unknown API route: ${api404.status}`);
    assert(api404.headers.get("content-type") === "application/problem+json", "unknown API route: a problem document");
    const apiAuth = await fetch(base + "/contracts/nope", { headers: { Accept: "text/html" } });
    assert(apiAuth.status === 401, `an API route stays the API's even for a browser: ${apiAuth.status}`);
    const doc = await (await fetch(base + "/openapi.json")).json();
    assert(!Object.keys(doc.paths).some((p) => p === "/" || p.startsWith("/ui") || p.startsWith("/assets")), "the page is outside the OpenAPI document");
  });

  const browser = await chromium.launch({
    executablePath: browserPath,
    // Playwright gives every launch a fresh, empty profile of its own.
    args: FLAGS,
    headless: true,
  });
  try {
    // ---- desktop, as the buyer --------------------------------------------
    const desk = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const d = await watchedPage(desk, base);
    const { page } = d;

    await check("a wrong token is refused on the sign-in form", async () => {
      await page.goto(base + "/");
      await page.fill("#token", "cascade_" + "0".repeat(64));
      await page.click("form.signin button[type=submit]");
      await page.waitForSelector(".signin-status.error");
      const t = await page.textContent(".signin-status");
      assert(/does not know this token/.test(t ?? ""), `message: ${t}`);
      d.errors.length = 0; // the 401 itself is logged by the browser as a failed resource
    });

    let signInMs = 0;
    await check("sign in as a buyer (openai) and see the supply-chain graph", async () => {
      signInMs = await signIn(page, base, openai);
      const who = await page.textContent("[data-testid=who]");
      assert(/openai/i.test(who ?? ""), `signed in as openai: ${who}`);
      for (const n of ["party:openai", "party:google", "site:cw-plano", "site:stargate-abilene", "party:coreweave"]) {
        assert(await page.$(`svg[data-testid=graph] g[data-node="${n}"]`), `graph has node ${n}`);
      }
      const edges = await page.$$eval("svg[data-testid=graph] g.edge:not(.owns)", (es) => es.length);
      assert(edges >= 6, `graph has ${edges} contract edges`);
      await noHorizontalOverflow(page, "graph at 1280");
      await shot(page, "graph");
    });

    await check("page weight under 500 KB compressed", async () => {
      // A fresh context: nothing cached, every byte of the page crosses the wire.
      const fresh = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const fp = await fresh.newPage();
      await fp.goto(base + "/", { waitUntil: "load" });
      const w = await fp.evaluate(() => {
        const nav = performance.getEntriesByType("navigation")[0];
        const res = performance.getEntriesByType("resource").filter((r) => !r.name.includes("/openapi.json") && /\/assets\//.test(r.name));
        return { transfer: nav.transferSize + res.reduce((a, r) => a + r.transferSize, 0), decoded: nav.decodedBodySize + res.reduce((a, r) => a + r.decodedBodySize, 0), files: res.length + 1 };
      });
      await fresh.close();
      const dist = join(web, "dist");
      const files = [];
      const walk = (dir) => {
        for (const f of readdirSync(dir)) {
          const p = join(dir, f);
          if (statSync(p).isDirectory()) walk(p);
          else files.push(readFileSync(p));
        }
      };
      walk(dist);
      const gz = files.reduce((a, b) => a + gzipSync(b, { level: 9 }).length, 0);
      const br = files.reduce((a, b) => a + brotliCompressSync(b).length, 0);
      assert(gz < 500 * 1024, `bundle is ${gz} bytes gzipped`);
      assert(w.decoded < 500 * 1024, `the page loads ${w.decoded} bytes`);
      figures.push(["page weight: first load, page + assets as served (uncompressed)", `${w.decoded} B in ${w.files} files (${w.transfer} B on the wire with headers)`]);
      figures.push(["page weight compressed", `${gz} B gzip -9, ${br} B brotli`]);
    });

    await check("first render of the example from a reload with the saved token", async () => {
      await page.reload();
      await page.waitForSelector("body[data-ready=graph]");
      const t = await page.evaluate(() => performance.getEntriesByName("cascade:rendered:graph")[0]?.startTime ?? -1);
      assert(t > 0 && t < 1000, `first render took ${t} ms`);
      figures.push(["first render of the example (navigation start → graph drawn, 1280×800)", `${Math.round(t)} ms`]);
      figures.push(["sign-in to graph drawn", `${signInMs} ms`]);
    });

    await check("select a contract and see its chain down to the physical site", async () => {
      await page.click('[data-testid=contract-list] button[data-contract="gcp-openai-1"]');
      await page.waitForSelector('[data-testid=chain][data-contract="gcp-openai-1"]');
      assert((await page.textContent("[data-testid=chain-provider]")) === "coreweave", "physical provider");
      assert((await page.textContent("[data-testid=chain-site]")) === "cw-plano", "root site");
      const steps = await page.$$eval("[data-testid=chain] .chain-steps li", (l) => l.map((x) => x.textContent));
      assert(steps.length === 2, `two tiers: ${steps}`);
      assert(steps[0].includes("undisclosed"), `upstream tier is undisclosed: ${steps[0]}`);
      const hl = await page.$$eval("svg[data-testid=graph] g.edge.hl", (es) => es.map((e) => e.getAttribute("data-edge")));
      for (const want of ["site:cw-plano→party:google", "party:google→party:openai", "party:coreweave→site:cw-plano"]) {
        assert(hl.includes(want), `highlighted ${want} (got ${hl})`);
      }
      assert(!hl.includes("site:stargate-abilene→party:openai"), "another chain is not highlighted");
      await shot(page, "graph-chain");
    });

    for (const v of VIEWS.slice(1)) {
      await check(`view ${v} renders at 1280×800`, async () => {
        await openView(page, v);
        if (v === "exposure") {
          const rows = await page.$$eval("[data-testid=by-provider] .bar-label", (l) => l.map((x) => x.textContent));
          assert(rows.includes("CoreWeave") || rows.includes("coreweave"), `by provider: ${rows}`);
          await page.waitForSelector("[data-testid=hhi-chart]");
        }
        if (v === "commitments") await page.waitForSelector('[data-testid="burndown-openai-coreweave"]');
        if (v === "buildout" || v === "simulation" || v === "invoices") {
          // Real data whenever the server has the route; a server without
          // it (a branch before the route landed) shows the panel, noted.
          const route = ROUTE_OF[v];
          if (apiPaths.includes(route)) {
            assert(!(await page.$("[data-unavailable]")), `${v}: the server has ${route}, yet the view says it is not available`);
            await page.waitForSelector(READY_OF[v]);
          } else {
            assert(await page.$("[data-unavailable]"), `${v}: no ${route} on the server and no 'not available' panel`);
            figures.push([`${v} view`, `NOT CHECKED with data: this server has no ${route}`]);
          }
        }
        await noHorizontalOverflow(page, `${v} at 1280`);
        await shot(page, v);
      });
    }

    await check("run a plan from the page and see purchases and exposure before/after", async () => {
      await openView(page, "plan");
      await page.click("[data-testid=run-plan]");
      await page.waitForSelector("[data-testid=plan-result][data-status]", { timeout: 120_000 });
      const status = await page.getAttribute("[data-testid=plan-result]", "data-status");
      assert(status === "optimal", `plan status ${status}`);
      const purchases = await page.$$eval("table.purchases tbody tr", (r) => r.length);
      assert(purchases > 0, "the plan buys something");
      await page.waitForSelector("[data-testid=after-hhi]");
      await noHorizontalOverflow(page, "plan at 1280");
      await shot(page, "plan");
    });

    await check("no upstream price or hidden contract id anywhere in the buyer's page or its responses", async () => {
      const texts = [];
      for (const v of VIEWS) {
        await openView(page, v);
        texts.push(await page.evaluate(() => document.documentElement.outerHTML + "\n" + document.body.innerText));
      }
      const pageText = texts.join("\n");
      // The OpenAPI document is public and uses "1.85" as its example of
      // a price: it is no party's data.
      const data = d.bodies.filter((b) => !b.url.endsWith("/openapi.json"));
      assert(data.length > 20, `the page's responses were recorded (${data.length})`);
      for (const p of secretPrices) {
        const re = new RegExp(`(^|[^0-9.])${p.replace(".", "\\.")}(?![0-9])`);
        assert(!re.test(pageText), `the page shows the upstream price ${p}`);
        for (const b of data) assert(!b.body.includes(`"${p}"`), `${b.url} carries the upstream price ${p}`);
      }
      for (const id of secretIds) {
        assert(!pageText.includes(`"${id}"`) && !pageText.includes(`>${id}<`), `the page names the hidden contract ${id}`);
        for (const b of data) assert(!b.body.includes(`"${id}"`), `${b.url} names the hidden contract ${id}`);
      }
    });

    await check("no console errors and nothing fetched from another origin (desktop)", async () => {
      assert(d.errors.length === 0, `console errors: ${d.errors.join(" | ")}`);
      assert(d.offsite.length === 0, `fetched from elsewhere: ${d.offsite.join(", ")}`);
    });
    await desk.close();

    // ---- phone width --------------------------------------------------------
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
    const m = await watchedPage(phone, base);
    await check("usable at phone width (390×844): every view, no horizontal overflow", async () => {
      await signIn(m.page, base, openai);
      await noHorizontalOverflow(m.page, "graph at 390");
      await shot(m.page, "phone-graph");
      for (const v of VIEWS.slice(1)) {
        await openView(m.page, v);
        await noHorizontalOverflow(m.page, `${v} at 390`);
        if (v === "exposure") await shot(m.page, "phone-exposure");
      }
      await m.page.click("nav a[data-view=graph]");
      await m.page.waitForSelector("body[data-ready=graph]");
      await m.page.click('[data-testid=contract-list] button[data-contract="gcp-openai-1"]');
      await m.page.waitForSelector('[data-testid=chain][data-contract="gcp-openai-1"]');
      assert(m.errors.length === 0, `console errors: ${m.errors.join(" | ")}`);
    });
    await phone.close();

    // ---- a reseller sees both sides -----------------------------------------
    const rs = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const r = await watchedPage(rs, base);
    await check("a reseller (google) sees what it buys and what it resells", async () => {
      await signIn(r.page, base, google);
      for (const n of ["site:cw-plano", "party:google", "party:openai"]) {
        assert(await r.page.$(`svg[data-testid=graph] g[data-node="${n}"]`), `graph has ${n}`);
      }
      await r.page.click('[data-testid=contract-list] button[data-contract="cw-google-1"]');
      await r.page.waitForSelector('[data-testid=chain][data-contract="cw-google-1"]');
      const down = await r.page.$$eval("svg[data-testid=graph] g.edge.down", (es) => es.length);
      assert(down >= 1, "its resale to openai is highlighted downstream");
      assert(r.errors.length === 0, `console errors: ${r.errors.join(" | ")}`);
      await shot(r.page, "graph-reseller");
    });
    await rs.close();

    // ---- 50 parties, 500 contracts ------------------------------------------
    await check("50 parties and 500 contracts: laid out and drawn, as admin and as a buyer", async () => {
      const file = join(tmp, "scale.toml");
      writeFileSync(file, largeScenario());
      const db2 = `sqlite://${join(tmp, "scale.db")}`;
      cascade("load", file, "--database", db2);
      const b0 = token(cascade("token", "create", "--party", "b0", "--database", db2));
      const base2 = await serve(db2, join(tmp, "admin2"));
      const admin2 = readFileSync(join(tmp, "admin2"), "utf8").trim();
      const big = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const w = await watchedPage(big, base2);
      const ms = await signIn(w.page, base2, admin2);
      const n = await w.page.$$eval("svg[data-testid=graph] g.node", (x) => x.length);
      assert(n === 70, `50 parties + 20 sites drawn, got ${n}`);
      figures.push(["graph of 50 parties, 20 sites, 500 contracts (admin): sign-in to drawn", `${ms} ms`]);
      // Readable: no two node boxes overlap, and every provider is drawn
      // beside its own sites (its nearest site is one of its own).
      const boxes = await w.page.$$eval("svg[data-testid=graph] g.node", (gs) => gs.map((g) => {
        const [x, y] = (g.getAttribute("transform").match(/-?[0-9.]+/g) ?? []).map(Number);
        const r = g.querySelector("rect");
        return { id: g.getAttribute("data-node"), x, y, w: Number(r.getAttribute("width")), h: Number(r.getAttribute("height")) };
      }));
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i];
          const b = boxes[j];
          const apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
          assert(apart, `nodes ${a.id} and ${b.id} overlap`);
        }
      }
      const centre = (b) => [b.x + b.w / 2, b.y + b.h / 2];
      const siteBoxes = boxes.filter((b) => b.id.startsWith("site:"));
      let beside = 0;
      for (let p = 0; p < 10; p++) {
        const [px, py] = centre(boxes.find((b) => b.id === `party:p${p}`));
        const near = siteBoxes.map((b) => [Math.hypot(centre(b)[0] - px, centre(b)[1] - py), b.id]).sort((x, y) => x[0] - y[0])[0];
        if (near[1].startsWith(`site:p${p}-`)) beside++;
      }
      assert(beside >= 8, `only ${beside} of 10 providers are drawn beside their own sites`);
      figures.push(["graph of 500 contracts: providers drawn beside their own sites", `${beside} of 10`]);
      await shot(w.page, "graph-500", false);
      await w.page.click("header .link");
      const ms2 = await signIn(w.page, base2, b0);
      figures.push(["same market as buyer b0 (chains of its resales asked for): sign-in to drawn", `${ms2} ms`]);
      assert(w.errors.length === 0, `console errors: ${w.errors.join(" | ")}`);
      await big.close();
    });
  } finally {
    await browser.close();
  }

  console.log(`\n${passed} passed, ${failures} failed`);
  if (figures.length) {
    console.log("\nfigures (loopback, headless Chromium):");
    for (const [k, v] of figures) console.log(`  ${k}: ${v}`);
  }
  return failures ? 1 : 0;
}

// The servers' pipes would keep node alive: stop them and exit.
main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
