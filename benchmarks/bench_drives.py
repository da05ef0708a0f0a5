"""Drive preparation benchmark: prepare vs `cp -r`, `md5sum`, both in sequence; peak RSS; resume cost.

    .venv/bin/python benchmarks/bench_drives.py [--size-mib 2048] [--big-file-mib 1024] [--workdir DIR]

Builds a mixed staging set (many small files and a few large ones), then times, in the same run and
from a warm page cache for every contender: `cp -r` of the set, `md5sum` over its files, the two in
sequence, and seedctl's prepare_drive (copy + an MD5 per block + the CRC-64 + journal + manifest) onto a
simulated drive in the same filesystem. Peak RSS of prepare is measured in a child process (ru_maxrss),
for the mixed set and for a single large file. Finally a prepare is killed (SIGKILL) at about 50 % and
resumed; the resumed run's source bytes read are printed next to the size of the file in flight.
Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from seedctl.drives import create_simulated_drive, prepare_drive, scan_staging  # noqa: E402

MiB = 1024 * 1024


def make_set(root: Path, total: int, big_file: int) -> None:
    """~40 % in files of 4-200 KiB, ~15 % in 1-16 MiB files, the rest in large files (up to big_file)."""
    rnd = __import__("random").Random(42)
    chunk = os.urandom(16 * MiB)
    written = 0
    n = 0

    def put(size: int) -> None:
        nonlocal written, n
        folder = root / f"dir{n % 97:02d}" / f"sub{n % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"file{n:06d}.bak", "wb") as fh:
            left = size
            off = rnd.randrange(0, len(chunk) // 2)
            while left:
                piece = chunk[off:off + min(left, len(chunk) - off)]
                fh.write(piece)
                left -= len(piece)
                off = 0
        written += size
        n += 1
    while written < total * 0.40:
        put(rnd.randrange(4 * 1024, 200 * 1024))
    while written < total * 0.55:
        put(rnd.randrange(1 * MiB, 16 * MiB))
    while written < total:
        put(min(big_file, total - written if total - written > MiB else MiB))
    print(f"staging set: {n:,} files, {written / MiB:,.0f} MiB")



def warm(root: Path) -> None:
    """Same start for every contender: no dirty pages left from the previous one, source in cache."""
    os.sync()
    subprocess.run(f"find {root} -type f -print0 | xargs -0 cat > /dev/null", shell=True, check=True)


def timed(cmd: str) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


CHILD = r"""
import json, os, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import seedctl.drives.writing.prepare as P
from seedctl.drives import create_simulated_drive, prepare_drive, scan_staging
staging, drive, kill_at = Path(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4])
files = scan_staging(staging, container="backup").files
create_simulated_drive(drive, "BENCH-1", 1 << 50) if not drive.exists() else None
def progress(e):
    if kill_at and e.phase == "copying" and e.bytes_done >= kill_at * e.bytes_total:
        print(json.dumps({"at": e.bytes_done, "file": e.current_file}), flush=True)
        time.sleep(60)
if kill_at:
    P.PROGRESS_INTERVAL = 0.0
t = time.perf_counter()
r = prepare_drive(drive, "BENCH-1", files, staging, owner_id="bench", allow_simulated=True, progress=progress)
print(json.dumps({"seconds": time.perf_counter() - t, "bytes_read": r.bytes_read, "files": r.files,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}), flush=True)
"""


def prepare_child(staging: Path, drive: Path, kill_at: float = 0.0) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(staging), str(drive), str(kill_at)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def kill_at_half(staging: Path, drive: Path) -> dict:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(ROOT), str(staging), str(drive), "0.5"],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return json.loads(line)


def run_once(staging: Path, work: Path, files: list, fresh, results: dict[str, list[float]]) -> None:
    md5 = f"cd {staging} && find . -type f -print0 | xargs -0 md5sum"
    for label, cmd in (
        ("cp -r", "cp -r {src} {dst}"),
        ("md5sum", md5),
        ("cp -r; md5sum", "cp -r {src} {dst} && " + md5),
        ("cp -r; sync", "cp -r {src} {dst} && sync"),
    ):
        target = fresh("cp")  # removed before the clock starts, and before warm() syncs
        warm(staging)
        results.setdefault(label, []).append(timed(cmd.replace("{src}", str(staging)).replace("{dst}", str(target))))
    shutil.rmtree(work / "cp", ignore_errors=True)
    drive = fresh("drive")
    create_simulated_drive(drive, "BENCH-1", 1 << 50)
    warm(staging)
    t = time.perf_counter()
    prepare_drive(drive, "BENCH-1", files, staging, owner_id="bench", allow_simulated=True)
    results.setdefault("seedctl prepare", []).append(time.perf_counter() - t)
    shutil.rmtree(drive)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=2048)
    ap.add_argument("--big-file-mib", type=int, default=1024)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="seedctl-bench-", dir=args.workdir))
    try:
        staging = work / "staging"
        make_set(staging, args.size_mib * MiB, min(args.big_file_mib, args.size_mib // 4) * MiB)
        big = work / "single"
        big.mkdir()
        with open(big / "big.vhd", "wb") as fh:  # one large file
            for _ in range(args.big_file_mib // 16):
                fh.write(os.urandom(16 * MiB))
        files = scan_staging(staging, container="backup").files
        total = sum(f.size for f in files)
        print(f"cpus: {os.cpu_count()}, python {sys.version.split()[0]}")

        def fresh(name: str) -> Path:
            p = work / name
            shutil.rmtree(p, ignore_errors=True)
            return p

        results: dict[str, list[float]] = {}
        for _ in range(args.repeat):
            run_once(staging, work, files, fresh, results)
        med = {k: sorted(v)[len(v) // 2] for k, v in results.items()}
        for label, runs in results.items():
            print(f"{label:18s} {med[label]:7.2f} s  {total / MiB / med[label]:8.1f} MiB/s   runs: "
                  + ", ".join(f"{r:.2f}" for r in runs))
        base = max(med["cp -r"], med["md5sum"])
        print(f"prepare / max(cp, md5sum) = {med['seedctl prepare'] / base:.2f}  (target <= 1.15)")
        print(f"prepare / max(cp -r; sync, md5sum) = {med['seedctl prepare'] / max(med['cp -r; sync'], med['md5sum']):.2f}")
        print(f"prepare / (cp -r; md5sum) = {med['seedctl prepare'] / med['cp -r; md5sum']:.2f}")
        warm(staging)
        child = prepare_child(staging, fresh("drive"))
        shutil.rmtree(work / "drive")
        print(f"peak RSS, mixed set ({total / MiB:,.0f} MiB): {child['maxrss_kb'] / 1024:.0f} MiB")
        child = prepare_child(big, fresh("drive1"))
        print(f"peak RSS, single {args.big_file_mib:,} MiB file: {child['maxrss_kb'] / 1024:.0f} MiB "
              f"({args.big_file_mib / child['seconds']:,.0f} MiB/s)")
        shutil.rmtree(work / "drive1")

        drive = fresh("drive2")
        killed = kill_at_half(staging, drive)
        resumed = prepare_child(staging, drive)
        in_flight = next(f.size for f in files if f.rel_path == killed["file"])
        print(f"kill -9 at {killed['at'] / total:.0%} ({killed['at'] / MiB:,.0f} MiB) in {killed['file']} "
              f"({in_flight / MiB:,.1f} MiB); resume read {resumed['bytes_read'] / MiB:,.1f} MiB of "
              f"{(total - killed['at']) / MiB:,.0f} MiB left; re-read = "
              f"{(resumed['bytes_read'] - (total - killed['at'])) / MiB:,.1f} MiB beyond what was left")
        print(f"self rusage maxrss (driver process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
