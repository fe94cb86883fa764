#!/usr/bin/env python3
"""Build and solve Cascade's planning MILP with HiGHS's own Python interface.

Input: the planning data `cascade plan FILE --buyer B --export-model M.json`
writes (format cascade-plan-model/1). The model is built here column for
column and row for row in the same order as `crates/plan/src/milp.rs`
(`build`), with the same options (mip_rel_gap 1e-4, quiet), so HiGHS solves
the very same problem. The script prints the build and solve times, the
objective in USD, and the number of blocks bought.

    pip install highspy
    python3 bench/plan/highs_py.py model.json [--api expr|arrays] [--money model|usd]
                                              [--method highs|guided] [--log]

--api expr (default): highspy's modelling layer (addVariable / addConstr
with linear expressions), the way the HiGHS docs build models in Python.
--api arrays: the low-level addCol/addRow calls with index/value arrays.

--method highs (default): HiGHS on the whole model, the baseline.
--method guided: cascade's own method (crates/plan/src/guided.rs), step for
step through highspy: LP bound with ROFR probing, restricted MIPs around the
LP solution, HiGHS on the whole model only when that falls short. It shows
how much of cascade's lead is the method and how much the language.

--money model (default): money in the export's unit (`money_unit` USD), the
very coefficients cascade hands to HiGHS. --money usd: every cost, the
commitments and the budget multiplied back to plain USD, the model as the
spec writes it; only the scaling differs, and HiGHS's search with it
(bench/README.md, "Scaling").
"""

import argparse
import json
import math
import sys
import time

import highspy

INF = highspy.kHighsInf


def build_expr(h, m):
    """The model through highspy's expression API."""
    pol = m["policy"]
    alpha, beta, k = pol["max_provider_share"], pol["min_share_after_provider_loss"], pol["colocated_h100e"]
    offers = m["offers"]
    integer = highspy.HighsVarType.kInteger
    n = [h.addVariable(lb=0, ub=o["max_blocks"], obj=o["cost"], type=integer) for o in offers]
    shortfall = [h.addVariable(lb=0, ub=INF, obj=1.0) if c["positive"] else None for c in m["commitments"]]
    for r in m["cap_rows"]:
        h.addConstr(sum(offers[i]["block"] * n[i] for i in r["offers"]) <= r["free"])
    sites = m["sites"]
    for d in m["dsegs"]:
        need = d["demand"] - d["held"]
        held_p = dict(d["held_p"])
        held_s = dict(d["held_site"])
        if alpha is not None or beta is not None:
            by_p = {}
            for i in d["active"]:
                by_p.setdefault(offers[i]["provider"], []).append(i)
            provs = sorted(set(held_p) | set(by_p))
            np_ = {}
            for p in provs:
                if p not in by_p:
                    continue
                c = h.addVariable(lb=0, ub=INF)
                np_[p] = c
                h.addConstr(c - sum(offers[i]["h_block"] * n[i] for i in by_p[p]) == 0)
            total = h.addVariable(lb=0, ub=INF)
            h.addConstr(total - sum(np_[p] for p in provs if p in np_) == 0)
            if need > 0:
                h.addConstr(total >= need)
            for p in provs:
                hp = held_p.get(p, 0.0)
                c = np_.get(p)
                if alpha is not None:
                    rhs = alpha * d["held"] - hp
                    if c is not None or rhs < 0:
                        h.addConstr(((c if c is not None else 0) - alpha * total) <= rhs)
                if beta is not None:
                    rhs = beta * d["demand"] - d["held"] + hp
                    if rhs > 0:
                        h.addConstr((total - (c if c is not None else 0)) >= rhs)
        elif need > 0:
            h.addConstr(sum(offers[i]["h_block"] * n[i] for i in d["active"]) >= need)
        if k is not None:
            if max(held_s.values(), default=0.0) >= k:
                continue
            by_s = {}
            for i in d["active"]:
                by_s.setdefault(offers[i]["site"], []).append(i)
            ys = []
            for s in sorted(set(held_s) | set(by_s)):
                hs = held_s.get(s, 0.0)
                lst = by_s.get(s, [])
                most = sum(offers[i]["h_block"] * offers[i]["max_blocks"] for i in lst)
                if hs + most < k:
                    continue
                y = h.addVariable(lb=0, ub=1, type=integer)
                ys.append(y)
                h.addConstr(sum(offers[i]["h_block"] * n[i] for i in lst) - (k - hs) * y >= 0)
            h.addConstr(sum(ys) >= 1)
    z = {}
    for o, hh in m["rofr"]:
        if hh not in z:
            z[hh] = h.addVariable(lb=0, ub=1, type=integer)
            h.addConstr(n[hh] - offers[hh]["max_blocks"] * z[hh] >= 0)
        h.addConstr(n[o] - offers[o]["max_blocks"] * z[hh] <= 0)
    for c, s in zip(m["commitments"], shortfall):
        if s is None:
            continue
        h.addConstr(s + sum(offers[i]["cost"] * n[i] for i in c["offers"]) >= c["remaining"])
    if pol["budget"] is not None:
        h.addConstr(
            sum(o["cost"] * x for o, x in zip(offers, n)) + sum(s for s in shortfall if s is not None)
            <= pol["budget"]
        )
    return n


class Arrays:
    """Low-level building: one addCol / addRow call per column / row."""

    def __init__(self, h):
        self.h = h
        self.ncols = 0

    def col(self, cost, lo, hi, integer=False):
        self.h.addCol(cost, lo, hi, 0, [], [])
        if integer:
            self.h.changeColIntegrality(self.ncols, highspy.HighsVarType.kInteger)
        self.ncols += 1
        return self.ncols - 1

    def row(self, lo, hi, idx, val):
        self.h.addRow(lo, hi, len(idx), idx, val)


def build_arrays(h, m, zs=None):
    a = Arrays(h)
    pol = m["policy"]
    alpha, beta, k = pol["max_provider_share"], pol["min_share_after_provider_loss"], pol["colocated_h100e"]
    offers = m["offers"]
    n = [a.col(o["cost"], 0, o["max_blocks"], True) for o in offers]
    shortfall = [a.col(1.0, 0, INF) if c["positive"] else None for c in m["commitments"]]
    for r in m["cap_rows"]:
        a.row(-INF, r["free"], [n[i] for i in r["offers"]], [offers[i]["block"] for i in r["offers"]])
    for d in m["dsegs"]:
        need = d["demand"] - d["held"]
        held_p = dict(d["held_p"])
        held_s = dict(d["held_site"])
        if alpha is not None or beta is not None:
            by_p = {}
            for i in d["active"]:
                by_p.setdefault(offers[i]["provider"], []).append(i)
            provs = sorted(set(held_p) | set(by_p))
            np_ = {}
            for p in provs:
                if p not in by_p:
                    continue
                c = a.col(0.0, 0, INF)
                np_[p] = c
                a.row(0, 0, [c] + [n[i] for i in by_p[p]], [1.0] + [-offers[i]["h_block"] for i in by_p[p]])
            total = a.col(0.0, 0, INF)
            nps = [np_[p] for p in provs if p in np_]
            a.row(0, 0, [total] + nps, [1.0] + [-1.0] * len(nps))
            if need > 0:
                a.row(need, INF, [total], [1.0])
            for p in provs:
                hp = held_p.get(p, 0.0)
                c = np_.get(p)
                if alpha is not None:
                    rhs = alpha * d["held"] - hp
                    if c is not None or rhs < 0:
                        idx, val = ([c], [1.0]) if c is not None else ([], [])
                        a.row(-INF, rhs, idx + [total], val + [-alpha])
                if beta is not None:
                    rhs = beta * d["demand"] - d["held"] + hp
                    if rhs > 0:
                        idx, val = ([total], [1.0])
                        if c is not None:
                            idx, val = idx + [c], val + [-1.0]
                        a.row(rhs, INF, idx, val)
        elif need > 0:
            a.row(need, INF, [n[i] for i in d["active"]], [offers[i]["h_block"] for i in d["active"]])
        if k is not None:
            if max(held_s.values(), default=0.0) >= k:
                continue
            by_s = {}
            for i in d["active"]:
                by_s.setdefault(offers[i]["site"], []).append(i)
            ys = []
            for s in sorted(set(held_s) | set(by_s)):
                hs = held_s.get(s, 0.0)
                lst = by_s.get(s, [])
                most = sum(offers[i]["h_block"] * offers[i]["max_blocks"] for i in lst)
                if hs + most < k:
                    continue
                y = a.col(0.0, 0, 1, True)
                ys.append(y)
                a.row(0, INF, [n[i] for i in lst] + [y], [offers[i]["h_block"] for i in lst] + [-(k - hs)])
            a.row(1, INF, ys, [1.0] * len(ys))
    z = {}
    for o, hh in m["rofr"]:
        if hh not in z:
            z[hh] = a.col(0.0, 0, 1, True)
            if zs is not None:
                zs.append((z[hh], hh))
            a.row(0, INF, [n[hh], z[hh]], [1.0, -offers[hh]["max_blocks"]])
        a.row(-INF, 0, [n[o], z[hh]], [1.0, -offers[o]["max_blocks"]])
    for c, s in zip(m["commitments"], shortfall):
        if s is None:
            continue
        a.row(c["remaining"], INF, [s] + [n[i] for i in c["offers"]], [1.0] + [offers[i]["cost"] for i in c["offers"]])
    if pol["budget"] is not None:
        sc = [s for s in shortfall if s is not None]
        a.row(-INF, pol["budget"], n + sc, [o["cost"] for o in offers] + [1.0] * len(sc))
    return n


def coverage_needs_holder(m, hh):
    """Without the offers holder offer hh's ROFR restricts, some demand
    segment cannot be covered even buying everything else in full."""
    banned = {o for o, h in m["rofr"] if h == hh}
    offers = m["offers"]
    for d in m["dsegs"]:
        most = sum(offers[i]["h_block"] * offers[i]["max_blocks"] for i in d["active"] if i not in banned)
        if most < d["demand"] - d["held"] - 1e-6 * max(d["demand"], 1.0):
            return True
    return False


def new_highs(m, args):
    h = highspy.Highs()
    h.setOptionValue("output_flag", bool(args.log))
    h.setOptionValue("mip_rel_gap", m["mip_rel_gap"])
    return h


def solve_guided(m, args):
    """cascade's method (crates/plan/src/guided.rs), step for step: LP
    relaxation, ROFR probing and enumeration, restricted MIPs around the LP
    solution, the LP bound as certificate; the whole model otherwise.
    Returns (objective in money units, columns, how)."""
    gap = m["mip_rel_gap"]
    offers = m["offers"]
    h = new_highs(m, args)
    zs = []
    n = build_arrays(h, m, zs)
    nc = h.getNumCol()
    cont = highspy.HighsVarType.kContinuous
    h.changeColsIntegrality(nc, list(range(nc)), [cont] * nc)
    h.run()
    ok, infeasible = highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kInfeasible
    if h.getModelStatus() != ok:
        return whole(m, args)
    forced, open_ = [], []
    if len(zs) <= 64:
        for z, hh in zs:
            if coverage_needs_holder(m, hh):
                forced.append((z, 1.0))
                continue
            inf = [False, False]
            for v in (0, 1):
                if v == 1 and inf[0]:
                    break
                h.changeColBounds(z, v, v)
                h.run()
                inf[v] = h.getModelStatus() == infeasible
                h.changeColBounds(z, 0, 1)
            if inf[0]:
                forced.append((z, 1.0))
            elif inf[1]:
                forced.append((z, 0.0))
            else:
                open_.append(z)
    if len(open_) > 6:
        open_ = []
    cases = []
    for bits in range(1 << len(open_)):
        fixed = forced + [(z, float((bits >> k) & 1)) for k, z in enumerate(open_)]
        for c, v in fixed:
            h.changeColBounds(c, v, v)
        h.run()
        st = h.getModelStatus()
        if st == ok:
            sol = h.getSolution()
            cases.append((h.getInfo().objective_function_value, fixed, list(sol.col_value), list(sol.col_dual)))
        elif st != infeasible:
            return whole(m, args)
    if not cases:
        return whole(m, args)
    cases.sort(key=lambda c: c[0])
    bound, fixed, x, r = cases[0]
    target = bound * (1 + 0.99 * gap)
    free_below = gap * abs(bound) / 32.0
    best = None
    for free_down in (False, True):
        h2 = new_highs(m, args)
        build_arrays(h2, m)
        for c, v in fixed:
            h2.changeColBounds(c, v, v)
        for o, c in zip(offers, n):
            ub = float(o["max_blocks"])
            floor = min(max(math.floor(x[c] + 1e-9), 0.0), ub)
            if abs(r[c]) <= free_below:
                lo, hi = (0.0 if free_down else floor), ub
            else:
                lo, hi = floor, min(max(math.ceil(x[c] - 1e-9), floor), ub)
            h2.changeColBounds(c, lo, hi)
        h2.setOptionValue("objective_target", target)
        h2.setOptionValue("mip_max_nodes", 20000)
        h2.run()
        if h2.getInfo().primal_solution_status == 2:  # feasible
            cols = list(h2.getSolution().col_value)
            u = cost_units(m, n, cols)
            if best is None or u < best[0]:
                best = (u, cols)
        if best is not None and best[0] - bound <= gap * abs(best[0]):
            return best[0], best[1], "lp-bound"
    return whole(m, args)


def cost_units(m, n, cols):
    offers = m["offers"]
    blocks = [max(round(cols[c]), 0) for c in n]
    total = sum(o["cost"] * b for o, b in zip(offers, blocks))
    for c in m["commitments"]:
        if c["positive"]:
            total += max(c["remaining"] - sum(offers[i]["cost"] * blocks[i] for i in c["offers"]), 0.0)
    return total


def whole(m, args):
    h = new_highs(m, args)
    build_arrays(h, m)
    h.run()
    return h.getInfo().objective_function_value, list(h.getSolution().col_value), "branch-and-bound"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--api", choices=["expr", "arrays"], default="expr")
    ap.add_argument("--money", choices=["model", "usd"], default="model")
    ap.add_argument(
        "--method",
        choices=["highs", "guided"],
        default="highs",
        help="highs: HiGHS on the whole model (the baseline); guided: cascade's method scripted here",
    )
    ap.add_argument("--log", action="store_true", help="show HiGHS's log")
    ap.add_argument("--time-limit", type=float, default=None, help="seconds (default: none)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    with open(args.model) as f:
        m = json.load(f)
    if m.get("format") != "cascade-plan-model/1":
        sys.exit(f"{args.model}: not a cascade-plan-model/1 document")
    if args.money == "usd":
        u = m["money_unit"]
        for o in m["offers"]:
            o["cost"] *= u
        for c in m["commitments"]:
            c["remaining"] *= u
        if m["policy"]["budget"] is not None:
            m["policy"]["budget"] *= u
        m["money_unit"] = 1.0
    t1 = time.perf_counter()
    if args.method == "guided":
        obj, cols, how = solve_guided(m, args)
        t3 = time.perf_counter()
        blocks = sum(round(cols[i]) for i in range(len(m["offers"])))
        print(
            json.dumps(
                {
                    "api": "arrays",
                    "money": args.money,
                    "method": "guided",
                    "proof": how,
                    "objective_usd": round(obj * m["money_unit"], 2),
                    "blocks": blocks,
                    "load_seconds": round(t1 - t0, 4),
                    "build_seconds": None,
                    "solve_seconds": round(t3 - t1, 4),
                    "total_seconds": round(t3 - t0, 4),
                }
            )
        )
        return
    h = new_highs(m, args)
    for key, value in m.get("highs_options", {}).items():
        h.setOptionValue(key, value)
    if args.time_limit is not None:
        h.setOptionValue("time_limit", args.time_limit)
    n = (build_expr if args.api == "expr" else build_arrays)(h, m)
    t2 = time.perf_counter()
    h.run()
    t3 = time.perf_counter()
    status = h.modelStatusToString(h.getModelStatus())
    obj = h.getInfo().objective_function_value * m["money_unit"]
    sol = h.getSolution().col_value
    blocks = sum(round(sol[i]) for i in (n if isinstance(n[0], int) else [v.index for v in n]))
    print(
        json.dumps(
            {
                "api": args.api,
                "money": args.money,
                "status": status,
                "objective_usd": round(obj, 2),
                "blocks": blocks,
                "columns": h.getNumCol(),
                "rows": h.getNumRow(),
                "load_seconds": round(t1 - t0, 4),
                "build_seconds": round(t2 - t1, 4),
                "solve_seconds": round(t3 - t2, 4),
                "total_seconds": round(t3 - t0, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
