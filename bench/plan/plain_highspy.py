#!/usr/bin/env python3
"""A plain HiGHS model of `cascade plan`, written from the spec's text.

    python3 bench/plan/plain_highspy.py SCENARIO.toml --buyer lab [--time-limit S]

This is the baseline of issue 15: the planning model of
../shared/spec/scenario.md ("Planning model"), written as a user who read the
spec would write it, from the scenario TOML (not from cascade's
`--export-model`). One integer column per usable offer (blocks), money in
plain USD, rows per segment written directly over the offer columns,
co-location with one binary per candidate site and demand segment, ROFR with
one binary per covered non-holder offer, HiGHS's default options apart from
`mip_rel_gap` 1e-4 (highspy 1.16.0). Prints one JSON line: objective, status,
times, HiGHS's node count and gap, the purchases.

Covers what the hard family uses and the rest of the planning model's text:
contracts (site or backed_by, amendments), offers, commitments (and their
amendments), demands in H100e, clauses (exclusive, rofr, no_resale_to,
avoid_provider), policy (share, N-1, co-location, budget). Demands by GPU
class (the version-1 extension) are not handled.
"""

import argparse
import datetime as dt
import json
import sys
import time
import tomllib

T0 = time.perf_counter()


def hours(t):
    """A TOML date or datetime as hours since the epoch (UTC)."""
    if isinstance(t, dt.datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=dt.timezone.utc)
        return t.timestamp() / 3600.0
    return (dt.datetime(t.year, t.month, t.day, tzinfo=dt.timezone.utc).timestamp()) / 3600.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("--buyer", required=True)
    ap.add_argument("--time-limit", type=float)
    ap.add_argument("--gap", type=float, default=1e-4)
    ap.add_argument("--drop", help="experiments: leave out families (share,n1,coloc,rofr)")
    a = ap.parse_args()
    import highspy

    sc = tomllib.load(open(a.scenario, "rb"))
    B = a.buyer
    H = {g["id"]: float(g["h100e"]) for g in sc.get("gpu", [])}
    sites = {s["id"]: s for s in sc.get("site", [])}
    contracts = {c["id"]: c for c in sc.get("contract", [])}
    amends = sc.get("amendment", [])
    offers = sc.get("offer", [])
    clauses = sc.get("clause", [])
    pol = sc.get("policy", {}).get(B, {})

    # Amount of a contract at t: gpus plus amendments effective <= t, inside its window.
    c_amend = {}
    for am in amends:
        if "contract" in am:
            c_amend.setdefault(am["contract"], []).append((hours(am["effective"]), am["gpus"]))

    def amount(cid, t):
        c = contracts[cid]
        if not (hours(c["start"]) <= t < hours(c["end"])):
            return 0
        return c["gpus"] + sum(g for e, g in c_amend.get(cid, []) if e <= t)

    children = {}
    for c in contracts.values():
        if "backed_by" in c:
            children.setdefault(c["backed_by"], []).append(c["id"])

    def resold(cid, t):
        return sum(amount(d, t) for d in children.get(cid, []))

    def chain(c):
        """(root site, sellers along the chain) of a contract or offer."""
        sellers = [c["seller"]]
        while "backed_by" in c:
            c = contracts[c["backed_by"]]
            sellers.append(c["seller"])
        return c["site"], sellers

    # Usable offers.
    usable = []
    for o in offers:
        if o["seller"] == B:
            continue
        root, sellers = chain(o)
        prov = sites[root]["owner"]
        ok = True
        for cl in clauses:
            k = cl["kind"]
            if k == "exclusive" and cl["buyer"] == B and hours(o["start"]) < hours(cl["until"]) \
                    and o["seller"] != cl["seller"]:
                ok = False
            if k == "no_resale_to" and cl["party"] == B and cl["seller"] in sellers:
                ok = False
            if k == "avoid_provider" and cl["buyer"] == B and cl["provider"] == prov:
                ok = False
        if ok:
            usable.append(dict(o, root=root, prov=prov, s=hours(o["start"]), e=hours(o["end"]),
                               full=o["max_gpus"] // o.get("block_gpus", 8),
                               block=o.get("block_gpus", 8)))
    for o in usable:
        o["cost_block"] = o["block"] * float(o["price_per_gpu_hour"]) * (o["e"] - o["s"])

    # Segments: cut at every start, end and effective date in the scenario.
    cuts = set()
    for kind in ("contract", "offer", "demand", "commitment"):
        for x in sc.get(kind, []):
            cuts.add(hours(x["start"]))
            cuts.add(hours(x["end"]))
    for am in amends:
        cuts.add(hours(am["effective"]))
    cuts = sorted(cuts)
    segs = list(zip(cuts, cuts[1:]))

    h = highspy.Highs()
    h.setOptionValue("output_flag", bool(__import__("os").environ.get("HIGHS_LOG")))
    h.setOptionValue("mip_rel_gap", a.gap)
    if a.time_limit:
        h.setOptionValue("time_limit", a.time_limit)
    inf = highspy.kHighsInf
    ncol = 0

    def col(cost, lo, hi, integer):
        nonlocal ncol
        h.addCol(cost, lo, hi, 0, [], [])
        if integer:
            h.changeColIntegrality(ncol, highspy.HighsVarType.kInteger)
        ncol += 1
        return ncol - 1

    nrows = 0

    def row(lo, hi, terms):
        nonlocal nrows
        idx = [i for i, _ in terms]
        val = [v for _, v in terms]
        h.addRow(lo, hi, len(idx), idx, val)
        nrows += 1

    n = [col(o["cost_block"], 0, o["full"], True) for o in usable]

    # Commitments: shortfall column and row.
    short = []
    for cm in sc.get("commitment", []):
        if cm["buyer"] != B:
            continue
        usd = float(cm["usd"]) + sum(float(am["usd"]) for am in amends
                                     if am.get("commitment") == cm["id"])
        cs, ce = hours(cm["start"]), hours(cm["end"])
        spent = 0.0
        for c in contracts.values():
            if c["buyer"] == B and c["seller"] == cm["seller"] and cs <= hours(c["start"]) < ce:
                # full value: amount x price x hours over its sub-windows
                pts = sorted({hours(c["start"]), hours(c["end"])} |
                             {e for e, _ in c_amend.get(c["id"], []) if hours(c["start"]) < e < hours(c["end"])})
                for t0, t1 in zip(pts, pts[1:]):
                    spent += amount(c["id"], t0) * float(c["price_per_gpu_hour"]) * (t1 - t0)
        rem = usd - spent
        if rem <= 0:
            continue
        s = col(1.0, 0, inf, False)
        short.append(s)
        terms = [(s, 1.0)] + [(n[i], o["cost_block"]) for i, o in enumerate(usable)
                              if o["seller"] == cm["seller"] and cs <= o["s"] < ce]
        row(rem, inf, terms)

    # Budget.
    if "budget_usd" in pol:
        row(-inf, float(pol["budget_usd"]),
            [(n[i], o["cost_block"]) for i, o in enumerate(usable)] + [(s, 1.0) for s in short])

    alpha = pol.get("max_provider_share")
    beta = pol.get("min_share_after_provider_loss")
    K = pol.get("colocated_h100e")
    drop = set(a.drop.split(",")) if a.drop else set()  # experiments only
    alpha = None if "share" in drop else alpha
    beta = None if "n1" in drop else beta
    K = None if "coloc" in drop else K
    if "rofr" in drop:
        clauses = [c for c in clauses if c["kind"] != "rofr"]
    demands = [d for d in sc.get("demand", []) if d["buyer"] == B]
    held_c = [c for c in contracts.values() if c["buyer"] == B]
    root_of = {c["id"]: chain(c)[0] for c in held_c}
    site_contracts = {}
    for c in contracts.values():
        if "site" in c:
            site_contracts.setdefault((c["site"], c["gpu"]), []).append(c["id"])

    for (t0, t1) in segs:
        act = [i for i, o in enumerate(usable) if o["s"] <= t0 and t1 <= o["e"]]
        if not act:
            continue
        # Free capacity per source.
        src = {}
        for i in act:
            o = usable[i]
            key = ("site", o["site"], o["gpu"]) if "site" in o else ("contract", o["backed_by"])
            src.setdefault(key, []).append(i)
        for key, lst in src.items():
            if key[0] == "site":
                free = sites[key[1]]["gpus"].get(key[2], 0) - sum(
                    amount(c, t0) for c in site_contracts.get((key[1], key[2]), []))
            else:
                free = amount(key[1], t0) - resold(key[1], t0)
            if sum(usable[i]["block"] * usable[i]["full"] for i in lst) > free:
                row(-inf, free, [(n[i], usable[i]["block"]) for i in lst])
        d = sum(x["h100e"] for x in demands if hours(x["start"]) <= t0 and t1 <= hours(x["end"]))
        if d <= 0:
            continue
        held = 0.0
        held_p, held_site = {}, {}
        for c in held_c:
            g = amount(c["id"], t0) - resold(c["id"], t0)
            if g <= 0:
                continue
            v = g * H[c["gpu"]]
            site = root_of[c["id"]]
            held += v
            held_p[sites[site]["owner"]] = held_p.get(sites[site]["owner"], 0) + v
            held_site[site] = held_site.get(site, 0) + v
        hq = {i: H[usable[i]["gpu"]] * usable[i]["block"] for i in act}
        # Coverage: held + new >= d.
        row(d - held, inf, [(n[i], hq[i]) for i in act])
        provs = sorted(set(held_p) | {usable[i]["prov"] for i in act})
        for P in provs:
            mine = [i for i in act if usable[i]["prov"] == P]
            hp = held_p.get(P, 0.0)
            if alpha is not None:
                # held_P + new_P <= alpha (held + new)
                terms = [(i, hq[i] * (1 - alpha)) for i in mine]
                terms += [(i, -alpha * hq[i]) for i in act if usable[i]["prov"] != P]
                row(-inf, alpha * held - hp, [(n[i], v) for i, v in terms])
            if beta is not None:
                # (held + new) - (held_P + new_P) >= beta d
                terms = [(n[i], hq[i]) for i in act if usable[i]["prov"] != P]
                row(beta * d - held + hp, inf, terms)
        if K is not None and max(held_site.values(), default=0.0) < K:
            cand = sorted(set(held_site) | {usable[i]["root"] for i in act})
            zs = []
            for st in cand:
                z = col(0.0, 0, 1, True)
                zs.append(z)
                terms = [(n[i], hq[i]) for i in act if usable[i]["root"] == st] + [(z, -K)]
                row(-held_site.get(st, 0.0), inf, terms)
            row(1, inf, [(z, 1.0) for z in zs])

    # ROFR: one binary per covered non-holder offer.
    for cl in clauses:
        if cl["kind"] != "rofr" or cl["buyer"] != B:
            continue
        until = hours(cl["until"])
        hold = [j for j, o in enumerate(usable) if o["seller"] == cl["holder"]]
        for i, o in enumerate(usable):
            if o["seller"] == cl["holder"] or o["s"] >= until:
                continue
            over = [j for j in hold if usable[j]["s"] < o["e"] and o["s"] < usable[j]["e"]]
            if not over:
                continue
            y = col(0.0, 0, 1, True)
            row(-inf, 0, [(n[i], 1.0), (y, -o["full"])])
            for j in over:
                row(0, inf, [(n[j], 1.0), (y, -usable[j]["full"])])

    t_built = time.perf_counter()
    h.run()
    t_solved = time.perf_counter()
    st = h.getModelStatus()
    info = h.getInfo()
    out = dict(status=h.modelStatusToString(st), build_seconds=round(t_built - T0, 3),
               solve_seconds=round(t_solved - t_built, 3), columns=ncol, rows=nrows,
               nodes=int(info.mip_node_count), gap=info.mip_gap)
    if info.primal_solution_status == 2:
        x = h.getSolution().col_value
        buys = [(usable[i]["id"], round(x[n[i]]) * usable[i]["block"]) for i in range(len(usable))
                if round(x[n[i]]) > 0]
        cost = sum(round(x[n[i]]) * usable[i]["cost_block"] for i in range(len(usable)))
        out.update(objective_usd=cost + sum(x[s] for s in short), purchases_usd=cost,
                   shortfall_usd=sum(x[s] for s in short), bound_usd=info.mip_dual_bound,
                   purchases=buys)
    out["total_seconds"] = round(time.perf_counter() - T0, 3)
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
