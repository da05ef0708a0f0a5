"""Plan benchmark: `seedctl plan` as users run it (a whole process) for a spec with 10 drives over a
large staging tree, against the local sandbox (real SDK clients), next to `find -printf` over the
same tree as the reference.

    .venv/bin/python benchmarks/bench_plan.py [--files 1000000] [--drives 10] [--rounds 3]
                                              [--tree DIR] [--workdir DIR] [--no-in-process] [--json]
                                              [--written]

Each round runs both contenders as separate processes, in an order rotated every round, from a
warm page cache (a warm-up run of each comes first): the plan is `python -m seedctl.cli plan
--json -f seed.yaml` (interpreter start, imports, refresh of every Azure node, staging scan, drive
reads, allocation, diff, JSON rendering), the reference `find STAGING -type f -printf '%s %T@ %p\\n'`
(the facts seedctl records). Wall time and peak RSS come from wait4() on each child. The ratio is
taken within a round; min/median/max are reported over rounds, with the 1-minute load average before
each round, and a figure whose max/min spread exceeds 25 % is flagged as not reproducing.

With `--written`, one `seedctl apply --auto-approve` (a whole process, timed and its peak RSS
reported, but not a contender) first writes every file to the drives, so that the rounds measure
the plan a user runs before shipping: every drive's journal read back and every written file
stat'ed, nothing left to copy.

The plan only reads the staging tree, so one tree serves every round (`--tree` reuses one built
earlier, e.g. by a previous run with `--workdir`). With the in-process figures on (the default),
each round also times `seedctl.cli.main(["plan", "--json"])` inside this process, for comparison
with the earlier figures. Goals (issue 17): whole-process plan <= 3 x find, peak RSS <= 300 MB.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

GOAL_RATIO = 3.0
GOAL_RSS_MB = 300.0
SPREAD_FLAG = 1.25


def build_tree(root: Path, files: int) -> None:
    """100 files a folder, 100 folders a volume; sizes 0..4095 bytes (1M files: about 2 GB)."""
    per_folder = 100
    for i in range(files):
        folder = root / f"vol{i // 10000:03d}" / f"chunk{(i // per_folder) % 100:03d}"
        if i % per_folder == 0:
            folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"seg{i:07d}.dat", "wb") as fh:
            fh.write(b"x" * (i % 4096))


def write_spec(work: Path, staging: Path, drives: int, sandbox_dir: Path) -> None:
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
        "staging": {"path": str(staging)},
        "drives": [{"serial": s, "mount_point": f"./drives/{s}", "capacity": "4GiB",
                    "bitlocker": {"key": {"file": f"./keys/{s}.key"}}} for s in serials],
        "import_job": {"name": "bench-job", "api": "importexport",
                       "return_address": {"recipient": "Bench", "street1": "1 Way", "city": "Redmond",
                                          "postal_code": "98052", "country_or_region": "US",
                                          "phone": "+1 425 555 0100", "email": "b@example.com"},
                       "return_shipping": {"carrier_name": "FedEx", "carrier_account_number": "1"}},
    }
    (work / "seed.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))


GNU_TIME = shutil.which("time") if Path("/usr/bin/time").exists() else None


def run_process(argv: list[str], cwd: Path, environ: dict[str, str], stdout_path: Path | None) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one child process.

    Peak RSS comes from GNU time's %M when it is installed: Linux carries a process's high-water
    RSS across fork and exec, so wait4() on a child of this (large) Python process would report
    this process's size for a small child such as find. Without GNU time, wait4()'s figure is used
    and is an upper bound.
    """
    rss_file = Path(tempfile.mkstemp(prefix="seedctl-bench-rss-")[1])
    launcher = ["/usr/bin/time", "-f", "%M", "-o", str(rss_file)] if GNU_TIME else []
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    try:
        start = time.perf_counter()
        child = subprocess.Popen(launcher + argv, cwd=cwd, env=environ, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        err = child.stderr.read().decode(errors="replace") if child.stderr else ""
        kib = int(rss_file.read_text().split()[-1]) if GNU_TIME else usage.ru_maxrss
    finally:
        if stdout_path:
            out.close()
        rss_file.unlink(missing_ok=True)
    if child.returncode not in (0, 2):  # 2: plan --detailed-exitcode style "changes present"
        raise SystemExit(f"{argv[:4]} failed ({child.returncode}): {err[-2000:]}")
    return wall, kib * 1024 / 1e6  # MB (10^6 bytes, as the goal is stated)


def plan_argv() -> list[str]:
    return [sys.executable, "-m", "seedctl.cli", "plan", "--json", "-f", "seed.yaml"]


def find_argv(staging: Path) -> list[str]:
    return ["find", str(staging), "-type", "f", "-printf", "%s %T@ %p\n"]


def allocated_files(plan_json: Path) -> int:
    plan = json.loads(plan_json.read_text())
    return sum(c["summary"].get("files", 0) or 0 for c in plan["changes"] if c["kind"] == "drive")


def time_in_process(work: Path, environ: dict[str, str]) -> float:
    from seedctl.cli import main as seedctl_main
    from seedctl.env import Env

    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    code = seedctl_main(["plan", "--json"], env=Env(stdout=out, stderr=err, environ=environ, cwd=str(work)))
    elapsed = time.perf_counter() - start
    if code not in (0, 2):
        raise SystemExit(f"in-process plan failed ({code}): {err.getvalue()[-2000:]}")
    return elapsed


def spread(values: list[float]) -> str:
    lo, mid, hi = min(values), statistics.median(values), max(values)
    flag = "" if lo <= 0 or hi / lo <= SPREAD_FLAG else f"  (does not reproduce: max/min {hi / lo:.2f})"
    return f"{lo:.2f} / {mid:.2f} / {hi:.2f}{flag}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--drives", type=int, default=10)
    ap.add_argument("--rounds", "--repeat", type=int, default=3, dest="rounds")
    ap.add_argument("--tree", type=Path, help="an existing staging tree to use instead of building one")
    ap.add_argument("--workdir", type=Path, help="where to build (kept when given, so --tree can reuse it)")
    ap.add_argument("--no-in-process", action="store_true", help="skip the in-process plan timings")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object at the end")
    ap.add_argument("--written", action="store_true",
                    help="apply first (every file on the drives), then time the plan of the finished drives")
    args = ap.parse_args()
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    from seedctl.sandbox import lifecycle

    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="seedctl-bench-plan-", dir=args.workdir))
    sandbox_dir = work / "sandbox"
    try:
        lifecycle.up(sandbox_dir)
        environ = dict(os.environ, SEEDCTL_SANDBOX_DIR=str(sandbox_dir), NO_COLOR="1")
        if args.tree:
            staging = args.tree.resolve()
            count = int(subprocess.run(f"find {shlex_quote(staging)} -type f | wc -l", shell=True, check=True,
                                       capture_output=True, text=True).stdout)
            print(f"tree: {staging} ({count:,} files, reused)")
        else:
            staging = work / "staging"
            t = time.perf_counter()
            build_tree(staging, args.files)
            count = args.files
            print(f"tree: {count:,} files built in {time.perf_counter() - t:.1f} s")
        write_spec(work, staging, args.drives, sandbox_dir)
        if args.written:
            apply_argv = [sys.executable, "-m", "seedctl.cli", "apply", "--auto-approve", "-f", "seed.yaml"]
            wall, peak = run_process(apply_argv, work, environ, None)
            print(f"apply (every file to the drives, load {os.getloadavg()[0]:.2f}): {wall:.1f} s, "
                  f"peak RSS {peak:.0f} MB")
        plan_out = work / "plan.json"
        contenders = {
            "seedctl plan": lambda: run_process(plan_argv(), work, environ, plan_out),
            "find -printf": lambda: run_process(find_argv(staging), work, environ, None),
        }
        for run in contenders.values():  # warm-up: page cache, bytecode, TLS session
            run()
        files = allocated_files(plan_out)
        names = list(contenders)
        walls: dict[str, list[float]] = {n: [] for n in names}
        rss: dict[str, list[float]] = {n: [] for n in names}
        ratios: list[float] = []
        loads: list[float] = []
        in_process: list[float] = []
        for r in range(args.rounds):
            loads.append(os.getloadavg()[0])
            order = names[r % len(names):] + names[:r % len(names)]
            this: dict[str, float] = {}
            for name in order:
                wall, peak = contenders[name]()
                walls[name].append(wall)
                rss[name].append(peak)
                this[name] = wall
            ratios.append(this["seedctl plan"] / this["find -printf"])
            if not args.no_in_process:
                in_process.append(time_in_process(work, environ))
            print(f"round {r + 1}: load {loads[-1]:.2f}; order {' then '.join(order)}; "
                  + "; ".join(f"{n} {this[n]:.2f} s, {rss[n][-1]:.0f} MB" for n in names)
                  + f"; ratio {ratios[-1]:.2f}" + (f"; in-process plan {in_process[-1]:.2f} s" if in_process else ""))
        mode = ", every file already on the drives" if args.written else ""
        print(f"\nplan of {count:,} staged files on {args.drives} drives ({files:,} allocated{mode}), "
              f"{args.rounds} rounds, min / median / max:")
        for n in names:
            print(f"  {n:14s} wall {spread(walls[n])} s; peak RSS {spread(rss[n])} MB")
        if in_process:
            print(f"  in-process plan wall {spread(in_process)} s")
        print(f"  plan / find (within a round): {spread(ratios)}")
        print(f"  1-minute load average before each round: {', '.join(f'{x:.2f}' for x in loads)} "
              f"({os.cpu_count()} CPUs)")
        ratio_ok = statistics.median(ratios) <= GOAL_RATIO
        rss_ok = max(rss["seedctl plan"]) <= GOAL_RSS_MB
        # lines run_all.py collects into the goals table of docs/benchmarks.md
        print(f"GOAL: plan of {count:,} files{mode}, whole process, <= {GOAL_RATIO:g} x find -printf (median): "
              f"{spread(ratios)} -> {'met' if ratio_ok else 'MISSED'}")
        print(f"GOAL: plan of {count:,} files{mode}, peak RSS <= {GOAL_RSS_MB:g} MB (max): "
              f"{spread(rss['seedctl plan'])} MB -> {'met' if rss_ok else 'MISSED'}")
        if args.json:
            def mmm(values: list[float]) -> list[float]:
                return [round(min(values), 3), round(statistics.median(values), 3), round(max(values), 3)]

            print(json.dumps({"files": count, "drives": args.drives, "rounds": args.rounds,
                              "plan_s": mmm(walls["seedctl plan"]), "find_s": mmm(walls["find -printf"]),
                              "ratio": mmm(ratios), "plan_rss_mb": mmm(rss["seedctl plan"]),
                              "in_process_s": mmm(in_process) if in_process else None, "load": loads,
                              "goal_ratio_met": ratio_ok, "goal_rss_met": rss_ok}))
    finally:
        lifecycle.down(sandbox_dir)
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


def shlex_quote(path: Path) -> str:
    import shlex

    return shlex.quote(str(path))


if __name__ == "__main__":
    main()
