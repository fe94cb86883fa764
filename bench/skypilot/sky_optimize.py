"""SkyPilot's own optimizer, offline, on the shared catalog.

Run by bench/skypilot/compare.sh inside a throwaway venv with
skypilot==0.14.1. Splits the combined catalog CSV into SkyPilot's catalog
layout (<home>/.sky/catalogs/v8/<cloud>/vms.csv, without the Cloud and
SourceCatalog columns), points HOME there so SkyPilot never fetches its
hosted catalogs (a freshly written file is not refreshed), tells the
optimizer every cloud of the catalog is enabled (no credentials exist
here), and asks for the cheapest launchable resources of each request.

Prints one JSON object per request on stdout:
{"request": "H100:8", "cloud": ..., "instance": ..., "region": ...,
 "gpus": 8, "usd_per_hour": ..., "usd_per_gpu_hour": ...} or {"request":..,
 "error": ...}.
"""
import csv
import json
import os
import sys
import tempfile

catalog, *requests = sys.argv[1:]

home = tempfile.mkdtemp(prefix="sky-home-")
os.environ["HOME"] = home
os.environ["SKYPILOT_DISABLE_USAGE_COLLECTION"] = "1"
by_cloud = {}
with open(catalog, newline="") as f:
    rows = csv.DictReader(f)
    cols = [c for c in rows.fieldnames if c not in ("Cloud", "SourceCatalog")]
    for r in rows:
        by_cloud.setdefault(r["Cloud"], []).append({c: r[c] for c in cols})
for cloud, rows in by_cloud.items():
    d = os.path.join(home, ".sky", "catalogs", "v8", cloud)
    os.makedirs(d, exist_ok=True)
    # The combined file has an AvailabilityZone column for every cloud;
    # SkyPilot's own files have it only where zones exist, and it drops rows
    # with an empty zone when the column is there.
    keep = [c for c in cols
            if c != "AvailabilityZone" or any(r[c] for r in rows)]
    with open(os.path.join(d, "vms.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keep, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)

import sky  # noqa: E402  (after HOME is set)
from sky import check as sky_check  # noqa: E402
from sky import optimizer as sky_optimizer  # noqa: E402
from sky.utils import common as sky_common  # noqa: E402
from sky.utils import registry as sky_registry  # noqa: E402

enabled = []
skipped = []
for name in sorted(by_cloud):
    try:
        enabled.append(sky_registry.CLOUD_REGISTRY.from_str(name))
    except Exception as e:  # a cloud this SkyPilot version does not know
        skipped.append(f"{name}: {e}")
if skipped:
    print(json.dumps({"skipped_clouds": skipped}), file=sys.stderr)
sky_check.get_cached_enabled_clouds_or_refresh = lambda *a, **k: list(enabled)

# SkyPilot canonicalizes accelerator names with its hosted common catalog;
# write the part it reads from the same rows (read lazily, so in time).
common = os.path.join(home, ".sky", "catalogs", "v8", "common")
os.makedirs(common, exist_ok=True)
display = {name: str(sky_registry.CLOUD_REGISTRY.from_str(name))
           for name in by_cloud if not any(name in x for x in skipped)}
accs = {}
for cloud, rows in by_cloud.items():
    for r in rows:
        if cloud in display and r["AcceleratorName"]:
            accs.setdefault(r["AcceleratorName"], set()).add(display[cloud])
with open(os.path.join(common, "accelerators.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["AcceleratorName", "Clouds"])
    for name in sorted(accs):
        w.writerow([name, str(sorted(accs[name]))])
with open(os.path.join(common, "metadata.csv"), "w", newline="") as f:
    f.write("GPU,MemoryGB,Manufacturer\n")

for req in requests:
    # CLASS:COUNT, or CLASS:COUNT@cloud to ask one cloud only.
    req_, _, only = req.partition("@")
    name, _, count = req_.partition(":")
    count = int(count or 1)
    try:
        task = sky.Task(run="true")
        task.set_resources(sky.Resources(
            accelerators={name: count},
            infra=only or None))
        with sky.Dag() as dag:
            dag.add(task)
        dag = sky_optimizer.Optimizer.optimize(
            dag, minimize=sky_common.OptimizeTarget.COST, quiet=True)
        best = dag.tasks[0].best_resources
        per_hour = best.get_cost(3600)
        accs = best.accelerators or {}
        gpus = sum(accs.values()) or count
        print(json.dumps({
            "request": req,
            "cloud": str(best.cloud).lower(),
            "instance": best.instance_type,
            "region": best.region,
            "accelerators": {k: v for k, v in accs.items()},
            "gpus": gpus,
            "usd_per_hour": round(per_hour, 6),
            "usd_per_gpu_hour": round(per_hour / gpus, 6),
        }), flush=True)
    except Exception as e:
        print(json.dumps({"request": req, "error": f"{type(e).__name__}: {e}"[:300]}),
              flush=True)
