"""Run the benchmarks and write docs/benchmarks.md: machine, date, load average, figures, goals met/missed.

    sudo .venv/bin/python benchmarks/run_all.py [--quick] [--only copy,scan] [--rounds 3] [--out FILE]
    make bench                     # the same, full size

Each benchmark script prints its own figures (ratios against references measured in the same run:
the reference copier, `cp -r`, `md5sum`, `find`) and `GOAL:` lines; this collects their output
verbatim, and the GOAL lines into one table at the top, so the document says exactly what was
measured. `--quick` uses small sets and one round (to check that the scripts run, not for figures);
`--only` runs a subset by key (see KEYS below). The full run takes 30-60 minutes on a 2-core machine.
The hand-written "## Analysis" section of the existing document is kept.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ANALYSIS = "## Analysis"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# (key, title, full argv, quick argv); `{rounds}` is replaced by --rounds
BENCHMARKS = [
    ("large", "The large-file set (issue 22's headline): one 8 GiB agent-shaped file, seedctl apply (page blobs) vs "
              "reference copier, cp + sync, md5sum / cores; kill at 65 % and resume; peak RSS",
     ["bench_large.py", "--rounds", "{rounds}"], ["bench_large.py", "--quick"]),
    ("copy", "Drive preparation, whole process, fresh ext4 per run: seedctl vs reference copier, cp -r + sync, md5sum",
     ["bench_copy.py", "--rounds", "{rounds}"], ["bench_copy.py", "--quick", "--rounds", "1"]),
    ("drives", "Drive preparation, in process: 2 GiB mixed set vs cp -r, md5sum; peak RSS; resume after kill -9",
     ["bench_drives.py", "--size-mib", "2048", "--big-file-mib", "1024"],
     ["bench_drives.py", "--size-mib", "64", "--big-file-mib", "16", "--repeat", "1"]),
    ("scan", "Staging scan: 1,000,000 files vs find", ["bench_scan.py", "--files", "1000000"],
     ["bench_scan.py", "--files", "2000"]),
    ("plan", "Plan, whole process: 10 drives, 1,000,000 files, against the sandbox, vs find -printf",
     ["bench_plan.py", "--files", "1000000", "--rounds", "{rounds}"],
     ["bench_plan.py", "--files", "1000", "--rounds", "1"]),
    ("verify", "Verify at scale: requests and time for 100,000 blobs in Azurite",
     ["bench_verify.py", "--blobs", "100000"], ["bench_verify.py", "--blobs", "500"]),
    ("datacenter", "Sandbox datacenter import: cost per file (linear?), 100,000 files",
     ["bench_datacenter.py", "--files", "10000", "100000"], ["bench_datacenter.py", "--files", "200", "1000"]),
]
KEYS = [b[0] for b in BENCHMARKS]


def machine() -> str:
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            mem = f", {int(fh.readline().split()[1]) / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    return (f"{os.cpu_count()} CPUs ({cpu}){mem}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}")


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def goal_table(lines: list[str]) -> str:
    if not lines:
        return ""
    rows = []
    for line in lines:
        text = line[len("GOAL:"):].strip()
        what, _, verdict = text.rpartition("->")
        rows.append(f"| {what.strip()} | **{verdict.strip()}** |")
    return "| goal and measured ratio (min/median/max over rounds) | verdict |\n|---|---|\n" + "\n".join(rows) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="", help=f"comma-separated subset of {', '.join(KEYS)}")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = ap.parse_args()
    only = [k for k in args.only.split(",") if k]
    unknown = [k for k in only if k not in KEYS]
    if unknown:
        ap.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(KEYS)}")
    sections, goals = [], []
    load_start = load()
    for key, title, full, quick in BENCHMARKS:
        if only and key not in only:
            continue
        cmd = [a.replace("{rounds}", str(args.rounds)) for a in (quick if args.quick else full)]
        print(f"== {title}", flush=True)
        start, before = time.monotonic(), load()
        done = subprocess.run([sys.executable, str(HERE / cmd[0]), *cmd[1:]], cwd=ROOT, capture_output=True,
                              text=True)
        took = time.monotonic() - start
        output = done.stdout.strip() + (f"\n[exit {done.returncode}] {done.stderr.strip()[-1500:]}"
                                        if done.returncode else "")
        print(output, flush=True)
        goals += [line for line in output.splitlines() if line.startswith("GOAL:")]
        body = output if key in ("copy", "large") else f"```\n{output}\n```"  # these print markdown tables
        sections.append(f"### {title}\n\n`benchmarks/{' '.join(cmd)}` ({took:.0f} s; load average at start "
                        f"{before})\n\n{body}\n")
    head = (f"# Benchmark results\n\nGenerated by `benchmarks/run_all.py{' --quick' if args.quick else ''}"
            f"{' --only ' + args.only if only else ''}` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.\n\n"
            f"Machine: {machine()}. Load average (1/5/15 min) at start {load_start}, at end {load()}.\n\n"
            "Ratios are taken between contenders measured in the same round on the same files, and reported as "
            "min / median / max over the rounds. When the load average is above the CPU count the machine was "
            "shared with other work and every figure is noisy; re-run on a quiet machine for final numbers "
            "(`make bench`, or `benchmarks/run_all.py --only copy` for the drive-write figures alone).\n\n"
            + ("## Goals\n\n" + goal_table(goals) + "\n" if goals else ""))
    # The hand-written analysis below the figures survives a re-run.
    previous = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    analysis = previous[previous.index(ANALYSIS):] if ANALYSIS in previous else f"{ANALYSIS}\n\n(to be written)\n"
    args.out.write_text(head + "## Figures\n\n" + "\n".join(sections) + "\n" + analysis, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
