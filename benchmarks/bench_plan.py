"""Plan benchmark: `seedctl plan` for a spec with 10 drives over a large staging tree, against the
local sandbox (real SDK clients), next to `find` over the same tree as the reference.

    .venv/bin/python benchmarks/bench_plan.py [--files 100000] [--drives 10] [--repeat 3]

Prints, per run: the whole plan (refresh of every Azure node + staging scan + drive reads +
allocation + diff + text rendering) and `find -type f -printf '%s %T@ %p'` (the facts seedctl
records), both from a warm cache; plus the peak RSS of a plan in a child process. Figures only.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from seedctl.cli import main as seedctl_main  # noqa: E402
from seedctl.env import Env  # noqa: E402


def build_tree(root: Path, files: int) -> None:
    per_folder = 100
    for i in range(files):
        folder = root / f"vol{i // 10000:03d}" / f"chunk{(i // per_folder) % 100:03d}"
        if i % per_folder == 0:
            folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"seg{i:07d}.dat", "wb") as fh:
            fh.write(b"x" * (i % 4096))


def write_spec(work: Path, drives: int, sandbox_dir: Path) -> None:
    from seedctl.sandbox.connection import load_connection
    from seedctl.sandbox.control import SandboxControl
    from seedctl.sandbox.simdrive import make_drive

    control = SandboxControl(load_connection(sandbox_dir))
    serials = [f"BENCH-{i:02d}" for i in range(drives)]
    for s in serials:
        make_drive(control, sandbox_dir, s, work / "drives" / s, 4 * 1024**3, key_out=work / "keys" / f"{s}.key")
    spec = {
        "version": 1, "name": "bench",
        "azure": {"cloud": "sandbox", "subscription_id": "0be0be00-0000-4000-8000-000000000000",
                  "resource_group": "bench-rg", "location": "westus"},
        "storage_account": {"name": "benchstore", "create": True},
        "container": {"name": "seed"},
        "staging": {"path": "./staging"},
        "drives": [{"serial": s, "mount_point": f"./drives/{s}", "capacity": "4GiB",
                    "bitlocker": {"key": {"file": f"./keys/{s}.key"}}} for s in serials],
        "import_job": {"name": "bench-job", "api": "importexport",
                       "return_address": {"recipient": "Bench", "street1": "1 Way", "city": "Redmond",
                                          "postal_code": "98052", "country_or_region": "US",
                                          "phone": "+1 425 555 0100", "email": "b@example.com"},
                       "return_shipping": {"carrier_name": "FedEx", "carrier_account_number": "1"}},
    }
    (work / "seed.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))


def time_plan(work: Path, environ: dict[str, str]) -> tuple[float, int, str]:
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    code = seedctl_main(["plan", "--json"], env=Env(stdout=out, stderr=err, environ=environ, cwd=str(work)))
    elapsed = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"plan failed ({code}): {err.getvalue()[-2000:]}")
    plan = json.loads(out.getvalue())
    files = sum(c["summary"].get("files", 0) for c in plan["changes"] if c["kind"] == "drive")
    return elapsed, files, plan["summary"]


def time_find(staging: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["find", str(staging), "-type", "f", "-printf", "%s %T@ %p\n"], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def plan_rss(work: Path, environ: dict[str, str]) -> float:
    code = ("import resource,sys;from seedctl.cli import main;"
            "rc=main(['plan','--json']);"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr);sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code], cwd=work, env=environ, capture_output=True, text=True)
    return int(done.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--drives", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object at the end")
    args = ap.parse_args()
    from seedctl.sandbox import lifecycle

    work = Path(tempfile.mkdtemp(prefix="seedctl-bench-plan-", dir=args.workdir))
    sandbox_dir = work / "sandbox"
    try:
        lifecycle.up(sandbox_dir)
        environ = dict(os.environ, SEEDCTL_SANDBOX_DIR=str(sandbox_dir), NO_COLOR="1")
        t = time.perf_counter()
        build_tree(work / "staging", args.files)
        print(f"tree: {args.files:,} files built in {time.perf_counter() - t:.1f} s")
        write_spec(work, args.drives, sandbox_dir)
        time_plan(work, environ)  # warm-up: page cache, imports, TLS session
        plans, finds = [], []
        for _ in range(args.repeat):
            finds.append(time_find(work / "staging"))
            elapsed, files, summary = time_plan(work, environ)
            plans.append(elapsed)
        rss = plan_rss(work, environ)
        best_plan, best_find = min(plans), min(finds)
        print(f"plan ({args.drives} drives, {files:,} files allocated): best {best_plan:.2f} s "
              f"(runs: {', '.join(f'{p:.2f}' for p in plans)}), summary {summary}")
        print(f"find -printf over the same tree: best {best_find:.2f} s; plan / find = {best_plan / best_find:.2f}")
        print(f"plan peak RSS: {rss:.0f} MiB")
        if args.json:
            print(json.dumps({"files": args.files, "drives": args.drives, "plan_s": round(best_plan, 3),
                              "find_s": round(best_find, 3), "ratio": round(best_plan / best_find, 2),
                              "rss_mib": round(rss)}))
    finally:
        lifecycle.down(sandbox_dir)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
