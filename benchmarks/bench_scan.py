"""Staging scan benchmark: seedctl's scan_staging vs `find` over the same tree.

    .venv/bin/python benchmarks/bench_scan.py [--files 1000000] [--workdir DIR]

Creates `--files` empty files in 1,000 folders (names like the backup agent's), warms the dentry
cache, then times `find -type f` (names only: no stat), `find -type f -printf '%s %T@ %p'` (the same
facts seedctl records: needs a stat per file) and scan_staging. Figures only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seedctl.drives import scan_staging  # noqa: E402


def build(root: Path, n: int) -> None:
    per = max(1, n // 1000)
    made = 0
    for d in range(1000):
        folder = root / f"vol{d // 100:02d}" / f"chunk{d:04d}"
        folder.mkdir(parents=True)
        for i in range(min(per, n - made)):
            os.close(os.open(folder / f"seg{i:06d}.dat", os.O_CREAT | os.O_WRONLY, 0o644))
        made += min(per, n - made)
        if made >= n:
            break
    print(f"tree: {made:,} files")


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=1_000_000)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="seedctl-scan-", dir=args.workdir))
    try:
        root = work / "staging"
        build(root, args.files)
        quiet = {"stdout": subprocess.DEVNULL, "check": True}
        subprocess.run(["find", str(root), "-type", "f"], **quiet)  # warm caches
        scan_staging(root, container="backup")
        figures = {
            "find -type f": timed(lambda: subprocess.run(["find", str(root), "-type", "f"], **quiet)),
            "find -printf size,mtime": timed(lambda: subprocess.run(
                ["find", str(root), "-type", "f", "-printf", "%s %T@ %p\n"], **quiet)),
        }
        result = []
        figures["seedctl scan_staging"] = timed(lambda: result.append(scan_staging(root, container="backup", prefix="seed")))
        for k, v in figures.items():
            print(f"{k:26s} {v:7.2f} s")
        print(f"scan / find = {figures['seedctl scan_staging'] / figures['find -type f']:.2f}; "
              f"scan / find -printf = {figures['seedctl scan_staging'] / figures['find -printf size,mtime']:.2f} "
              f"(target <= 2); {len(result[0].files):,} files, {len(result[0].problems)} problems")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
