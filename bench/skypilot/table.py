"""Prints compare.sh's results side by side (Markdown)."""
import json
import sys
from decimal import Decimal

work, *requests = sys.argv[1:]
sky = {}
for line in open(f"{work}/sky.jsonl"):
    r = json.loads(line)
    sky[r["request"]] = r


def cascade(kind, req):
    try:
        doc = json.load(open(f"{work}/{kind}-{req}.json"))
    except (OSError, ValueError):
        err = open(f"{work}/{kind}-{req}.err").read().strip().splitlines()
        return None, (err[-1] if err else "no output")
    if doc["status"] == "infeasible":
        return None, doc.get("reason", "infeasible")
    return doc, None


print("| request | SkyPilot: cloud, instance, region | SkyPilot USD/GPU-h "
      "| Cascade, one COUNT-GPU instance: seller (provider) instances site | USD/GPU-h | same "
      "| Cascade, COUNT GPUs in one site | USD/GPU-h |")
print("|---|---|---|---|---|---|---|---|")


def where(doc, err):
    if doc is None:
        return f"no plan: {err[:70]}", "–"
    # An offer is bought for its whole window: compare per GPU-hour.
    gpus = sum(p["gpus"] for p in doc["purchases"])
    price = sum(Decimal(p["price_per_gpu_hour"]) * p["gpus"]
                for p in doc["purchases"]) / gpus
    text = "; ".join(
        f"{p['seller']}"
        + (f" ({p['provider']})" if p["provider"] != p["seller"] else "")
        + f" {p['instances']}×{p['gpus_per_instance']} {p['gpu']} {p['site']}"
        + (" [accelerator-only]" if p["accelerator_only"] else "")
        for p in doc["purchases"])
    if doc["surplus"]:
        text += f" (+{sum(x['surplus'] for x in doc['surplus']):g} surplus)"
    return text, f"{price:.4f}"


for req in requests:
    s = sky.get(req, {"error": "no answer"})
    if "error" in s:
        s_where, s_price = f"error: {s['error'][:70]}", "–"
    else:
        s_where = f"{s['cloud']} {s['instance']} {s['region']}"
        s_price = f"{Decimal(str(s['usd_per_gpu_hour'])):.4f}"
    n_where, n_price = where(*cascade("node", req))
    c_where, c_price = where(*cascade("site", req))
    same = "–" if "–" in (s_price, n_price) else ("yes" if s_price == n_price else "no")
    print(f"| {req} | {s_where} | {s_price} | {n_where} | {n_price} | {same} "
          f"| {c_where} | {c_price} |")

print()
print("4,096 H100e for 12 months (2027), no provider above 25 %:")
print()
h8 = sky.get("H100:8", {})
if "error" not in h8 and h8:
    hours = Decimal(8760)
    n = 4096 // 8
    cost = Decimal(str(h8["usd_per_hour"])) * n * hours
    print(f"- SkyPilot (per request, H100:8 × {n}): {n} × {h8['instance']} on "
          f"{h8['cloud']} {h8['region']}: ${cost:,.2f}; {h8['cloud']} holds 100 %.")
try:
    doc = json.load(open(f"{work}/portfolio.json"))
    if doc["status"] == "infeasible":
        print(f"- Cascade: infeasible: {doc.get('reason')}")
    else:
        by = {}
        for p in doc["purchases"]:
            by[p["provider"]] = by.get(p["provider"], 0) + p["h100e"]
        total = sum(by.values())
        top = sorted(by.items(), key=lambda x: -x[1])
        shares = ", ".join(f"{k} {v / total:.1%}" for k, v in top[:6])
        print(f"- Cascade ({doc['status']}): ${Decimal(doc['purchases_usd']):,.2f}; "
              f"{total:,.1f} H100e from {len(by)} providers; largest shares: {shares}.")
except (OSError, ValueError):
    print("- Cascade: " + open(f"{work}/portfolio.err").read().strip()[-300:])
