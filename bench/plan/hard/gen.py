#!/usr/bin/env python3
"""Seeded generator of the planner's hard benchmark family (issue 15).

Writes one scenario TOML (spec: ../shared/spec/scenario.md) to stdout:

    python3 bench/plan/hard/gen.py --seed 1 --offers 600 --months 24 > h1.toml

Shape, as planning instances of a real market look:

- 4 GPU classes of different h100e (A100 0.3153, H100 1, B200 2.2741,
  GB200 2.5268; docs/h100e.md);
- 10-30 physical providers (1-3 sites each) and 2-4 resellers that hold
  resellable contracts and offer them on (`backed_by`);
- offers sold in blocks of 8, 64, 256 and 1,024 GPUs (50/30/15/5% of
  offers; B200 and GB200 in blocks of at most 256), for 6-24 months,
  starting on month boundaries, prices per class times a provider factor;
- free capacity below what is on offer at many site/classes, other buyers'
  contracts taking part of it;
- buyer `lab`: holdings at a few sites, a monthly demand ramp (one demand
  window per month, so 24 or 36 monthly segments), a policy with provider
  share, N-1 and co-location set so that each binds, a budget, a commitment
  with one provider, and clauses: ROFR of a reseller for the first 6 months,
  avoid_provider, no_resale_to.

Deterministic: the same arguments give the same file (random.Random(seed)).
"""

import argparse
import random

CLASSES = [("A100", 0.3153, 400, 1.30), ("H100", 1.0, 700, 2.20),
           ("B200", 2.2741, 1000, 4.20), ("GB200", 2.5268, 1350, 5.00)]
# (block GPUs, share of offers, fewest and most blocks per offer). Recalibrated
# (bench/README.md, "Planner on hard instances", calibration): fewer large
# blocks than the first version (40/30/20/10%), and B200/GB200 offers are
# never sold in blocks above BIG_CLASS_BLOCK GPUs (a 1,024-GPU block of them
# becomes four times as many 256-GPU blocks, the same GPUs).
BLOCKS = [(8, 0.50, 16, 512), (64, 0.30, 4, 64), (256, 0.15, 1, 8), (1024, 0.05, 1, 4)]
BIG_CLASS_BLOCK = 256
# N-1: after losing any one provider, at least this share of demand. 0.9
# made the first version far harder than the instances (with the
# share cap near 0.18 it forces buying ~10% beyond demand everywhere).
BETA = 0.85
REGIONS = ["us-east", "us-west", "us-south", "eu-north", "eu-west", "asia-east"]


def month(m0, k):
    y, mo = divmod(m0 + k, 12)
    return f"{2026 + y:04d}-{mo + 1:02d}-01"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--offers", type=int, default=600)
    ap.add_argument("--months", type=int, default=24)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    M = a.months
    nprov = rng.randint(10, 30)
    nres = rng.randint(2, 4)
    provs = [f"p{i:02d}" for i in range(nprov)]
    resellers = [f"r{i}" for i in range(nres)]
    factor = {p: rng.uniform(0.85, 1.25) for p in provs}
    for r in resellers:
        factor[r] = rng.uniform(0.95, 1.15)

    # Sites: each provider 1-3 sites, each with 2-4 classes.
    sites = []  # (id, owner, region, classes)
    for p in provs:
        for j in range(rng.randint(1, 3)):
            cls = sorted(rng.sample(range(4), rng.randint(2, 4)))
            sites.append((f"{p}-s{j}", p, rng.choice(REGIONS), cls))

    # Offers at sites (resale offers come later).
    n_resale = max(a.offers // 20, 4)
    offers = []  # dict
    for i in range(a.offers - n_resale):
        sid, owner, _, cls = rng.choice(sites)
        c = rng.choice(cls)
        r = rng.random()
        acc = 0.0
        for blk, w, lo, hi in BLOCKS:
            acc += w
            if r <= acc:
                break
        nb = rng.randint(lo, hi)
        if c >= 2 and blk > BIG_CLASS_BLOCK:
            nb, blk = nb * blk // BIG_CLASS_BLOCK, BIG_CLASS_BLOCK
        term = rng.choice([6, 12, 12, 24])
        start = 0 if rng.random() < 0.15 else rng.randrange(0, M - 3, 3)
        end = min(M, start + term)
        price = CLASSES[c][3] * factor[owner] * rng.uniform(0.9, 1.1)
        offers.append(dict(id=f"o{i:04d}", seller=owner, cls=c, block=blk, max=blk * nb,
                           start=start, end=end, price=round(price, 4), site=sid))

    # Capacity per site/class: the busiest month's offered GPUs times 0.55-0.9.
    offered = {}
    for o in offers:
        for m in range(o["start"], o["end"]):
            k = (o["site"], o["cls"], m)
            offered[k] = offered.get(k, 0) + o["max"]
    peak = {}
    for (sid, c, m), g in offered.items():
        peak[(sid, c)] = max(peak.get((sid, c), 0), g)
    installed = {}
    for (sid, c), g in peak.items():
        installed[(sid, c)] = max(8, int(g * rng.uniform(0.55, 0.9)) // 8 * 8)

    free0 = dict(installed)
    contracts = []
    # Other buyers' contracts take part of the capacity (not counted in `installed` above).
    for k, (sid, c) in enumerate(sorted(installed)):
        if rng.random() < 0.3:
            g = max(8, installed[(sid, c)] // 4 // 8 * 8)
            installed[(sid, c)] += g
            owner = sid.split("-")[0]
            s0 = rng.randrange(0, M // 2)
            contracts.append(dict(id=f"x{k:03d}", seller=owner, buyer="other", cls=c, gpus=g,
                                  start=s0, end=min(M, s0 + rng.choice([12, 24])), price=1.0,
                                  site=sid, resale=False))
    # Resellers: each holds 2-3 resellable contracts spanning the horizon, offers them on.
    res_contracts = []
    keys = sorted(installed)
    for r in resellers:
        for j in range(rng.randint(2, 3)):
            sid, c = rng.choice(keys)
            owner = sid.split("-")[0]
            g = 1024 * rng.randint(1, 3)
            installed[(sid, c)] += g
            cid = f"{r}-c{j}"
            contracts.append(dict(id=cid, seller=owner, buyer=r, cls=c, gpus=g, start=0, end=M,
                                  price=round(CLASSES[c][3] * 0.8, 4), site=sid, resale=True))
            res_contracts.append((cid, r, c, g, owner))
    rofr_holder = resellers[0]
    for i in range(n_resale):
        cid, r, c, g, owner = res_contracts[i % len(res_contracts)]
        blk = rng.choice([64, 256, 1024])
        blk = min(blk, g)
        nb = rng.randint(1, max(1, min(4, g // blk)))
        if r == rofr_holder:  # ROFR offers: small, so buying them in full stays possible
            blk, nb = 64, rng.randint(1, 2)
        start = rng.randrange(0, M - 3, 3)
        end = min(M, start + rng.choice([6, 12]))
        price = CLASSES[c][3] * factor[r] * rng.uniform(0.9, 1.1)
        offers.append(dict(id=f"q{i:03d}", seller=r, cls=c, block=blk, max=blk * nb, start=start,
                           end=end, price=round(price, 4), backed_by=cid))

    # Buyer's holdings: 3 contracts at H100/B200 sites of different providers.
    held_h = [0.0] * M
    held_sites = []
    cand = [k for k in keys if k[1] in (1, 2)]
    for j in range(3):
        sid, c = rng.choice(cand)
        owner = sid.split("-")[0]
        g = 512 * rng.randint(1, 4)
        installed[(sid, c)] += g
        s0 = rng.randrange(0, M // 3)
        e0 = min(M, s0 + 12)
        contracts.append(dict(id=f"lab-h{j}", seller=owner, buyer="lab", cls=c, gpus=g, start=s0,
                              end=e0, price=round(CLASSES[c][3] * 0.9, 4), site=sid, resale=False))
        for m in range(s0, e0):
            held_h[m] += g * CLASSES[c][1]
        held_sites.append(sid)

    # Clauses: avoid one provider; no_resale_to the provider behind one reseller contract;
    # ROFR of the first reseller for the first 6 months.
    avoid = rng.choice([p for p in provs if p not in [s.split("-")[0] for s in held_sites]])
    nrt = resellers[-1]
    rofr_holder = resellers[0]

    # Supply per month: free capacity (after contracts) capped by what is offered, in H100e,
    # counting usable offers only; demand ramps from 25% to 45% of the thinnest month.
    def usable(o):
        if o.get("site"):
            return o["seller"] != avoid
        cid = o["backed_by"]
        owner = next(x for x in res_contracts if x[0] == cid)[4]
        return owner != avoid and o["seller"] != nrt
    supply = [0.0] * M
    reach = [dict() for _ in range(M)]  # per month: site -> H100e reachable there
    for m in range(M):
        per = {}
        for o in offers:
            if usable(o) and o["start"] <= m < o["end"]:
                k = o.get("site") or o["backed_by"]
                per[(k, o["cls"])] = per.get((k, o["cls"]), 0) + o["max"]
        for (k, c), g in per.items():
            if (k, c) in free0:
                g = min(g, free0[(k, c)])
            supply[m] += g * CLASSES[c][1]
            if (k, c) in free0:
                reach[m][k] = reach[m].get(k, 0) + g * CLASSES[c][1]
    med = sorted(supply)[M // 2]
    demand = [round(min(med * (0.20 + 0.15 * m / max(1, M - 1)), 0.5 * supply[m]) + held_h[m] * 0.5)
              for m in range(M)]
    import sys
    print(f"supply {[round(x) for x in supply]}\ndemand {demand}", file=sys.stderr)

    # Co-location: a level that a few sites can reach, above what any holding gives.
    third = min(sorted(r.values(), reverse=True)[2] for r in reach)
    K = round(min(third * 0.7, min(demand) * 0.6))
    alpha = round(max(0.12, min(0.3, 2.5 / nprov)), 3)
    beta = BETA

    # Commitment with a mid-priced provider.
    cprov = sorted(provs, key=lambda p: factor[p])[len(provs) // 2]
    if cprov == avoid:
        cprov = sorted(provs, key=lambda p: factor[p])[len(provs) // 2 + 1]
    commit_usd = round(sum(demand) * 730 * 2.5 * 0.05, -6)
    budget = round(sum(demand) * 730 * 4.0 * 3, -6)

    w = []
    w.append(f'name = "hard-{a.offers}-{M}-seed{a.seed}"\n')
    for cid, h, watts, _ in CLASSES:
        w.append(f'[[gpu]]\nid = "{cid}"\nh100e = {h}\nwatts = {watts}\n')
    for p in provs + resellers + ["lab", "other"]:
        w.append(f'[[party]]\nid = "{p}"\n')
    for sid, owner, region, cls in sites:
        gp = ", ".join(f'{CLASSES[c][0]} = {installed[(sid, c)]}' for c in cls
                       if (sid, c) in installed)
        if not gp:
            gp = f'{CLASSES[cls[0]][0]} = 8'
        w.append(f'[[site]]\nid = "{sid}"\nowner = "{owner}"\nregion = "{region}"\n'
                 f'gpus = {{ {gp} }}\n')
    for c in contracts:
        w.append(f'[[contract]]\nid = "{c["id"]}"\nseller = "{c["seller"]}"\nbuyer = "{c["buyer"]}"\n'
                 f'gpu = "{CLASSES[c["cls"]][0]}"\ngpus = {c["gpus"]}\nstart = {month(0, c["start"])}\n'
                 f'end = {month(0, c["end"])}\nprice_per_gpu_hour = "{c["price"]}"\nsite = "{c["site"]}"\n'
                 f'resale = {"true" if c["resale"] else "false"}\n')
    w.append(f'[[commitment]]\nid = "lab-{cprov}"\nbuyer = "lab"\nseller = "{cprov}"\n'
             f'start = {month(0, 0)}\nend = {month(0, M)}\nusd = "{int(commit_usd)}"\n')
    for o in offers:
        src = f'site = "{o["site"]}"' if o.get("site") else f'backed_by = "{o["backed_by"]}"'
        w.append(f'[[offer]]\nid = "{o["id"]}"\nseller = "{o["seller"]}"\ngpu = "{CLASSES[o["cls"]][0]}"\n'
                 f'max_gpus = {o["max"]}\nblock_gpus = {o["block"]}\nstart = {month(0, o["start"])}\n'
                 f'end = {month(0, o["end"])}\nprice_per_gpu_hour = "{o["price"]}"\n{src}\n')
    w.append(f'[[clause]]\nkind = "rofr"\nbuyer = "lab"\nholder = "{rofr_holder}"\nuntil = {month(0, 6)}\n')
    w.append(f'[[clause]]\nkind = "avoid_provider"\nbuyer = "lab"\nprovider = "{avoid}"\n')
    w.append(f'[[clause]]\nkind = "no_resale_to"\nseller = "{nrt}"\nparty = "lab"\n')
    for m in range(M):
        w.append(f'[[demand]]\nbuyer = "lab"\nstart = {month(0, m)}\nend = {month(0, m + 1)}\n'
                 f'h100e = {demand[m]}\n')
    w.append(f'[policy.lab]\nmax_provider_share = {alpha}\nmin_share_after_provider_loss = {beta}\n'
             f'colocated_h100e = {K}\nbudget_usd = "{int(budget)}"\n')
    print("\n".join(w), end="")


if __name__ == "__main__":
    main()
