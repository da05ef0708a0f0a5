"""Drive preparation as users run it: whole processes, a fresh ext4 filesystem per run, `sync` for all.

    sudo .venv/bin/python benchmarks/bench_copy.py [--sets mixed,large,tiny] [--rounds 3] [--quick]
                                                  [--cold] [--workdir DIR] [--json FILE]

Contenders, each a whole process timed from spawn to exit, followed by `sync -f` on the drive
(inside the timing), each onto a freshly made ext4 filesystem (a loop-mounted image with direct I/O,
so a flush reaches the disk):
  seedctl      scan_staging + prepare_drive (block blobs: copy, an MD5 per block, the CRC-64, journal, manifest)
  reference    benchmarks/reference_copier.py: the same hashing and durability work in one thread
  cp -r+sync   cp -r of the staging folder
  md5sum       md5sum of every staging file (reads only)
The order of the contenders rotates every round; ratios are taken within a round, then reported
as min / median / max over the rounds. The load average is recorded before and after each set:
the machine may be shared, and a ratio that moves between rounds is reported as such.
The staging sets are built once and cached under --workdir (default /var/tmp/seedctl-bench).
Needs root (losetup, mount). Prints a table and `GOAL:` lines that run_all.py collects.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MiB = 1 << 20
SERIAL_SUFFIX = ".seedctl-test-serial"  # seedctl.drives.disk.devices.LOOP_SERIAL_SUFFIX

SEEDCTL = r"""
import json, os, resource, sys, time
from pathlib import Path
# measure the tree in SEEDCTL_CODE (a snapshot), not the editable install's
sys.meta_path = [f for f in sys.meta_path if "editable" not in str(getattr(f, "__module__", ""))]
sys.path.insert(0, os.environ["SEEDCTL_CODE"])
from seedctl.drives import prepare_drive, scan_staging
staging, drive, serial = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
files = scan_staging(staging, container="bench").files
r = prepare_drive(drive, serial, files, staging, owner_id="bench", allow_simulated=True)
import seedctl
print(json.dumps({"files": r.files, "bytes": r.bytes, "code": seedctl.__file__,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

# name -> (files of (count, min size, max size)), large files (count, size)
SETS = {
    "mixed": {"small": [(4400, 16 << 10, 200 << 10), (20000, 1 << 10, 2 << 10)], "large": (3, 512 * MiB)},
    "large": {"small": [], "large": (3, 512 * MiB)},
    "tiny": {"small": [(200_000, 1 << 10, 8 << 10)], "large": (0, 0)},
    # the same per-file work as "tiny" at a quarter of the count, for a loaded machine's time budget
    "tiny50k": {"small": [(50_000, 1 << 10, 8 << 10)], "large": (0, 0)},
}
QUICK = {
    "mixed": {"small": [(440, 16 << 10, 200 << 10), (2000, 1 << 10, 2 << 10)], "large": (3, 48 * MiB)},
    "large": {"small": [], "large": (3, 64 * MiB)},
    "tiny": {"small": [(20_000, 1 << 10, 8 << 10)], "large": (0, 0)},
    "tiny50k": {"small": [(5_000, 1 << 10, 8 << 10)], "large": (0, 0)},
}
GOALS = {"mixed": 1.15, "large": 1.15, "tiny": 1.30, "tiny50k": 1.30}  # seedctl / reference, issue 17


def build_set(root: Path, spec: dict) -> tuple[int, int]:
    """Create the set once (a marker records it is complete); returns (files, bytes)."""
    marker = root / ".complete"
    if marker.exists():
        files, size = json.loads(marker.read_text())
        return files, size
    shutil.rmtree(root, ignore_errors=True)
    rnd = random.Random(17)
    pool = os.urandom(16 * MiB)
    files = total = 0
    for count, lo, hi in spec["small"]:
        for i in range(count):
            size = rnd.randrange(lo, hi + 1)
            folder = root / f"d{lo >> 10}k" / f"sub{i % 97:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            off = rnd.randrange(0, len(pool) - size)
            (folder / f"f{i:06d}.bak").write_bytes(pool[off:off + size])
            files, total = files + 1, total + size
    count, size = spec["large"]
    for i in range(count):
        (root / "large").mkdir(parents=True, exist_ok=True)
        with open(root / "large" / f"full-{i}.vhd", "wb") as fh:
            for _ in range(size // (16 * MiB)):
                fh.write(os.urandom(16 * MiB))
        files, total = files + 1, total + size
    marker.write_text(json.dumps([files, total]))
    return files, total


class FreshDrive:
    """An ext4 image made anew for every run, attached with direct I/O and mounted."""

    def __init__(self, work: Path, size: int, inodes: int) -> None:
        self.image, self.mount, self.serial = work / "drive.img", work / "mnt", "BENCHLOOP1"
        self.size, self.inodes, self.device = size, inodes, ""

    def __enter__(self) -> FreshDrive:
        self.image.unlink(missing_ok=True)
        with open(self.image, "wb") as fh:
            fh.truncate(self.size)
        Path(str(self.image) + SERIAL_SUFFIX).write_text(self.serial + "\n")
        # no lazy init: a background thread writing inode tables would run during the timing
        subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", "-N", str(self.inodes), "-E",
                        "lazy_itable_init=0,lazy_journal_init=0", str(self.image)], check=True, capture_output=True)
        self.device = subprocess.run(["losetup", "-f", "--show", "--direct-io=on", str(self.image)], check=True,
                                     capture_output=True, text=True).stdout.strip()
        self.mount.mkdir(exist_ok=True)
        subprocess.run(["mount", self.device, str(self.mount)], check=True, capture_output=True)
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["umount", str(self.mount)], capture_output=True)
        if self.device:
            subprocess.run(["losetup", "-d", self.device], capture_output=True)
        self.image.unlink(missing_ok=True)


def contenders(staging: Path) -> dict[str, object]:
    py = sys.executable
    return {
        "seedctl": lambda d: [py, "-c", SEEDCTL, str(staging), str(d.mount), d.serial],
        "reference": lambda d: [py, str(HERE / "reference_copier.py"), str(staging), str(d.mount / "ref")],
        "cp -r+sync": lambda d: ["cp", "-r", str(staging), str(d.mount / "cp")],
        "md5sum": lambda d: ["sh", "-c", f"cd '{staging}' && find . -type f -print0 | xargs -0 md5sum >/dev/null"],
    }


def prepare_caches(staging: Path, cold: bool) -> None:
    subprocess.run(["sync"], check=True)
    if cold:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    else:
        subprocess.run(f"find '{staging}' -type f -print0 | xargs -0 cat > /dev/null", shell=True, check=True)


CODE = ROOT  # the seedctl source tree the seedctl contender imports (--code)


def run_one(name: str, argv: list[str], drive: FreshDrive) -> tuple[float, dict]:
    env = dict(os.environ, SEEDCTL_CODE=str(CODE))
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    subprocess.run(["sync", "-f", str(drive.mount)], check=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{name} failed ({done.returncode}): {done.stderr[-2000:]}")
    extra = {}
    if name == "seedctl":
        extra = json.loads(done.stdout.strip().splitlines()[-1])
    return seconds, extra


def spread(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def warm_up(work: Path, staging: Path, image: int, times: int, inodes: int = 10_000) -> list[float]:
    """Untimed `cp` + sync runs of staging onto a fresh drive before the rounds; their seconds.

    On the VM this was measured on, memory the guest has not used for a while is handed back to
    the host, and the first run that fills that much page cache again pays for getting it back:
    1 GiB `cp` + sync onto a fresh image took 3.46 s first and 1.05-1.69 s right after in one
    process (often, not every time: see docs/benchmarks.md), and one 12 GiB touch of fresh memory
    took 46 s. Without a warm-up, whichever contender runs first in round 1 may carry that cost."""
    seconds = []
    for _ in range(times):
        with FreshDrive(work, image, inodes) as drive:
            prepare_caches(staging, cold=False)
            start = time.perf_counter()
            subprocess.run(["cp", "-r", str(staging), str(drive.mount / "warm")], check=True)
            subprocess.run(["sync", "-f", str(drive.mount)], check=True)
            seconds.append(time.perf_counter() - start)
    return seconds


def bench_set(name: str, staging: Path, files: int, size: int, work: Path, rounds: int, cold: bool) -> dict:
    runs: dict[str, list[float]] = {}
    rss: list[int] = []
    load_before = os.getloadavg()
    names = list(contenders(staging))
    image = max(int(size * 1.6), 512 * MiB) + files * 8192
    warmups = warm_up(work, staging, image, 1, files + files // 4 + 10_000)
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for who in order:
            with FreshDrive(work, image, files + files // 4 + 10_000) as drive:
                prepare_caches(staging, cold)
                seconds, extra = run_one(who, contenders(staging)[who](drive), drive)
            runs.setdefault(who, []).append(seconds)
            if "maxrss_kib" in extra:
                rss.append(extra["maxrss_kib"])
    load_after = os.getloadavg()
    s_, r_, c_, m_ = (runs[k] for k in ("seedctl", "reference", "cp -r+sync", "md5sum"))
    rows = range(rounds)
    ratios = {
        "seedctl / reference": [s_[i] / r_[i] for i in rows],
        "seedctl / max(cp -r+sync, md5sum)": [s_[i] / max(c_[i], m_[i]) for i in rows],
        "seedctl / cp -r+sync": [s_[i] / c_[i] for i in rows],
        "reference / cp -r+sync": [r_[i] / c_[i] for i in rows],
    }
    return {"set": name, "files": files, "bytes": size, "rounds": rounds, "cold": cold, "runs": runs,
            "ratios": ratios, "seedctl_maxrss_mib": [k / 1024 for k in rss],
            "load_before": load_before, "load_after": load_after, "warmups": warmups}


def report(res: dict) -> None:
    name, size = res["set"], res["bytes"]
    print(f"\n#### {name}: {res['files']:,} files, {size / MiB:,.0f} MiB, {res['rounds']} round(s), "
          f"{'cold' if res['cold'] else 'warm'} page cache")
    print(f"load average before {'/'.join(f'{x:.2f}' for x in res['load_before'])}, "
          f"after {'/'.join(f'{x:.2f}' for x in res['load_after'])} (1/5/15 min; 2 CPUs here)")
    print(f"untimed warm-up cp -r+sync before the rounds: {', '.join(f'{x:.2f} s' for x in res['warmups'])}\n")
    print("\n| contender | seconds min / median / max | MiB/s at median |\n|---|---|---|")
    for who, times in res["runs"].items():
        print(f"| {who} | {spread(times)} | {size / MiB / statistics.median(times):,.0f} |")
    print("\n| ratio (within a round) | min / median / max |\n|---|---|")
    for label, values in res["ratios"].items():
        print(f"| {label} | {spread(values)} |")
    if res["seedctl_maxrss_mib"]:
        print(f"\nseedctl peak RSS (whole process): {spread(res['seedctl_maxrss_mib'])} MiB")
    goal = GOALS[name]
    values = res["ratios"]["seedctl / reference"]
    met = sum(v <= goal for v in values)
    verdict = "met" if statistics.median(values) <= goal else "missed"
    note = "" if met in (0, len(values)) else f" (met in {met} of {len(values)} rounds: not reproducible)"
    print(f"GOAL: seedctl <= {goal} x reference, {name} set: median {statistics.median(values):.2f} "
          f"(min {min(values):.2f}, max {max(values):.2f}) -> {verdict}{note}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="mixed,large,tiny")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="small sets (a check that it runs, not figures)")
    ap.add_argument("--cold", action="store_true", help="drop the page cache before every run (root)")
    ap.add_argument("--workdir", type=Path, default=Path("/var/tmp/seedctl-bench"))
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--code", type=Path, default=ROOT, help="seedctl source tree to measure (a snapshot)")
    args = ap.parse_args()
    global CODE
    CODE = args.code.resolve()
    if os.geteuid() != 0:
        print("bench_copy.py needs root (losetup, mount): skipped")
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unmount and detach the drive on a kill
    specs = QUICK if args.quick else SETS
    results = []
    for name in [s for s in args.sets.split(",") if s]:
        staging = args.workdir / f"{'quick-' if args.quick else ''}{name}"
        files, size = build_set(staging / "data", specs[name])
        work = args.workdir / "run"
        work.mkdir(parents=True, exist_ok=True)
        res = bench_set(name, staging / "data", files, size, work, args.rounds, args.cold)
        report(res)
        sys.stdout.flush()
        results.append(res)
        if args.json:  # after every set: a long run stopped part-way keeps what it measured
            args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
