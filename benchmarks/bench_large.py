"""The large-file set (issue 22, the headline): one file shaped like the backup agent's staging
output, written to a drive as users run seedctl, whole processes, `sync` for every contender.

    sudo .venv/bin/python benchmarks/bench_large.py [--gib 8] [--rounds 3] [--workdir DIR] [--json FILE]
                                                    [--no-resume] [--quick]

The file: DS-0001/volume1.BaseBlob, `--gib` GiB (a multiple of 512 bytes), about a quarter of it
in zero runs of 16-64 MiB at 512-byte (not 4 MiB) offsets, built once and cached under --workdir;
its data is incompressible (a random pool at random offsets). Every run gets a fresh ext4 image,
loop-attached with direct I/O and mounted (so a flush reaches the disk), from a warm page cache.

Contenders (the order rotates every round; ratios are taken within a round and reported as
min / median / max over the rounds):
  seedctl apply      `seedctl apply --auto-approve` of a sandbox spec (staging.blob_type: page, one
                     drive: the image) in a fresh subscription of a local sandbox: plan, the Azure
                     resources, the drive, the job; then `sync -f` on the drive
  seedctl prepare    scan_staging + prepare_drive alone (the drive's part of the apply)
  reference          benchmarks/reference_copier.py --page: the same hashing and durability work,
                     one thread, no checks
  cp+sync            cp of the file, then `sync -f`
  md5sum             md5sum of the file (reads only); `md5sum/cores` is its time over the cores: the
                     best any hash of every byte spread over every core could do
Peak RSS of each seedctl process comes from GNU time (%M). With resume on (the default), each
round also kills an apply (SIGKILL) once it has copied 65 % of the file and times the apply that
resumes it: `resume / apply` is that second apply over a full one.

With `--drives N`, the same total in N files of one data source each, written by one apply to N
drives at once (N images), against N `cp` running at once then `sync`, and md5sum of every file over
the cores: how the process-wide hash and buffer pools share the cores and the memory between drives.

Goals (issue 22): seedctl apply <= 1.3 x max(cp+sync, md5sum/cores); peak RSS <= 100 MiB.
Needs root (losetup, mount). Prints tables and `GOAL:` lines that run_all.py collects.
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
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import yaml  # noqa: E402
from bench_copy import FreshDrive, prepare_caches, spread, warm_up  # noqa: E402

MiB = 1 << 20
GOAL_RATIO = 1.3
GOAL_RSS_MIB = 100
RESUME_AT = 0.65
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

PREPARE = r"""
import json, os, sys
from pathlib import Path
# measure the tree in SEEDCTL_CODE (a snapshot), not the editable install's
sys.meta_path = [f for f in sys.meta_path if "editable" not in str(getattr(f, "__module__", ""))]
sys.path.insert(0, os.environ["SEEDCTL_CODE"])
import seedctl.drives.writing.copyengine as engine
from seedctl.drives import prepare_drive, scan_staging
staging, drive, serial = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
engine.SKIP_ZEROS = sys.argv[4] == "skip"  # "data": zero chunks written, hashed and listed like any other
files = scan_staging(staging, container="bench", max_size=None).files
r = prepare_drive(drive, serial, files, staging, owner_id="bench", allow_simulated=True, blob_type="page")
allocated = sum(os.lstat(p).st_blocks * 512 for p in (drive / "seed").rglob("*") if p.is_file())
print(json.dumps({"files": r.files, "bytes": r.bytes, "read": r.bytes_read, "allocated": allocated,
                  "manifest": (drive / "DriveManifest.xml").stat().st_size,
                  "ranges": (drive / "DriveManifest.xml").read_bytes().count(b"<PageRange ")}))
"""


def build_file(path: Path, size: int, seed: int = 22) -> dict:
    """The agent-shaped file (cached: a marker beside it records it is complete)."""
    marker = path.parents[1].parent / f"{path.parents[1].name}.{path.parent.name}.complete"  # beside staging
    if marker.exists() and path.exists() and path.stat().st_size == size:
        return json.loads(marker.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    pool = os.urandom(256 * MiB)
    zeros = bytes(16 * MiB)
    zero_bytes = position = 0
    with open(path, "wb") as fh:
        while position < size:
            if rng.random() < 0.45:  # zero runs of 40 MiB on average, data runs of 96: a quarter zeros
                n = min(size - position, rng.randrange(16 * MiB, 64 * MiB, 512))
                for i in range(0, n, len(zeros)):  # real zeros on disk, as the agent writes them
                    fh.write(zeros[:min(len(zeros), n - i)])
                zero_bytes += n
            else:
                n = min(size - position, rng.randrange(32 * MiB, 160 * MiB, 512))
                for i in range(0, n, 64 * MiB):
                    piece = min(64 * MiB, n - i)
                    start = rng.randrange(0, len(pool) - piece)
                    fh.write(pool[start:start + piece])
            position += n
    facts = {"bytes": size, "zero_bytes": zero_bytes}
    marker.write_text(json.dumps(facts))
    return facts


class Sandbox:
    """A local sandbox for the applies, and a spec per run in a fresh subscription."""

    def __init__(self, work: Path) -> None:
        from seedctl.sandbox import lifecycle

        self.dir = work / "sandbox"
        lifecycle.up(self.dir)
        self.environ = dict(os.environ, SEEDCTL_SANDBOX_DIR=str(self.dir), NO_COLOR="1", PYTHONUNBUFFERED="1")

    def close(self) -> None:
        from seedctl.sandbox import lifecycle

        lifecycle.down(self.dir)

    def spec(self, work: Path, staging: Path, drive: FreshDrive | list[FreshDrive]) -> Path:
        from seedctl.sandbox.connection import load_connection
        from seedctl.sandbox.control import SandboxControl
        from seedctl.sandbox.simdrive import recovery_password, write_secret

        drives = drive if isinstance(drive, list) else [drive]
        entries = []
        for d in drives:
            key = work / "keys" / f"{d.serial}.key"
            key.parent.mkdir(exist_ok=True)
            key.unlink(missing_ok=True)
            password = recovery_password()
            write_secret(key, password)
            SandboxControl(load_connection(self.dir)).register_drive(d.serial, str(d.mount), password)
            entries.append({"serial": d.serial, "mount_point": str(d.mount), "bitlocker": {"key": {"file": str(key)}}})
        tag = uuid.uuid4().hex[:8]
        spec = {
            "version": 1, "name": f"bench-{tag}",
            "azure": {"cloud": "sandbox", "subscription_id": str(uuid.uuid4()), "resource_group": f"rg-{tag}",
                      "location": "westus"},
            "storage_account": {"name": f"bench{tag}", "create": True},
            "container": {"name": "seed"},
            "staging": {"path": str(staging), "blob_type": "page"},
            "drives": entries,
            "import_job": {"name": f"job-{tag}", "api": "databox",
                           "return_address": {"recipient": "Bench", "street1": "1 Way", "city": "Redmond",
                                              "postal_code": "98052", "country_or_region": "US",
                                              "phone": "+1 425 555 0100", "email": "b@example.com"},
                           "return_shipping": {"carrier_name": "FedEx", "carrier_account_number": "1"}},
        }
        path = work / "seed.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        return path


CPU: dict[str, list[float]] = {}  # CPU seconds (user + system) of each contender's process, per run


def timed(argv: list[str], cwd: Path, environ: dict[str, str], drive: FreshDrive,
          who: str = "") -> tuple[float, float, str]:
    """(wall seconds including `sync -f` of the drive, peak RSS in MiB from GNU time, stdout); the
    process's CPU seconds (user + system, GNU time) go to CPU[who]."""
    with tempfile.NamedTemporaryFile(prefix="seedctl-bench-rss-") as rss:
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", rss.name, *argv], cwd=cwd, env=environ,
                              capture_output=True, text=True)
        subprocess.run(["sync", "-f", str(drive.mount)], check=True)
        seconds = time.perf_counter() - start
        kib, user, system = Path(rss.name).read_text().split()[-3:]
        peak = int(kib) / 1024
        if who:
            CPU.setdefault(who, []).append(float(user) + float(system))
    if done.returncode:
        raise SystemExit(f"{argv[:5]} failed ({done.returncode}): {done.stdout[-3000:]} {done.stderr[-3000:]}")
    return seconds, peak, done.stdout


# `seedctl apply` from the tree in SEEDCTL_CODE (a snapshot), not from the editable install (whose
# import hook would win over PYTHONPATH)
CLI = ("import os, sys; sys.meta_path = [f for f in sys.meta_path if 'editable' not in str(getattr(f, '__module__', ''))]; "
       "sys.path.insert(0, os.environ['SEEDCTL_CODE']); from seedctl.cli import main; sys.exit(main(sys.argv[1:]))")


def apply_argv(spec: Path) -> list[str]:
    return [sys.executable, "-c", CLI, "apply", "--auto-approve", "-f", str(spec)]


def killed_then_resumed(sandbox: Sandbox, work: Path, staging: Path, drive: FreshDrive,
                        environ: dict[str, str]) -> tuple[float, float, float]:
    """Apply, SIGKILL it once 65 % of the file is copied, apply again: (seconds to the kill, seconds
    of the resuming apply with its sync, its peak RSS)."""
    spec = sandbox.spec(work, staging, drive)
    start = time.perf_counter()
    proc = subprocess.Popen([*apply_argv(spec), "--json"], cwd=work, env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "drive_progress" and event.get("phase") == "copying" and \
                    event.get("bytes_total") and event["bytes_done"] >= RESUME_AT * event["bytes_total"]:
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    to_kill = time.perf_counter() - start
    seconds, peak, _ = timed(apply_argv(spec), work, environ, drive)
    return to_kill, seconds, peak


def several_drives(args: argparse.Namespace, size: int, work: Path) -> int:
    """--drives N: one apply writing N drives at once, against N cp at once and md5sum / cores."""
    n = args.drives
    each = size // n // 512 * 512
    staging = args.workdir / f"large-agent-{args.gib:g}GiB-{n}files"
    for i in range(n):
        build_file(staging / f"DS-{i:04d}" / "volume1.BaseBlob", each, seed=22 + i)
    sandbox = Sandbox(work)
    environ_apply = dict(sandbox.environ, SEEDCTL_CODE=str(args.code.resolve()))
    image = int(each * 1.15) + 256 * MiB
    runs: dict[str, list[float]] = {"seedctl apply": [], "cp+sync (all at once)": [], "md5sum": []}
    rss: list[float] = []
    try:
        for r in range(args.rounds):
            for who in list(runs)[r % 3:] + list(runs)[:r % 3]:
                drives = []
                for i in range(n):
                    folder = work / f"d{i}"
                    folder.mkdir(exist_ok=True)
                    drive = FreshDrive(folder, image, 10_000)
                    drive.serial = f"BENCHLOOP{i}"
                    drives.append(drive.__enter__())
                try:
                    prepare_caches(staging, cold=False)
                    if who == "seedctl apply":
                        seconds, peak, _ = timed(apply_argv(sandbox.spec(work, staging, drives)), work, environ_apply,
                                                 drives[0], who)
                        for d in drives[1:]:
                            subprocess.run(["sync", "-f", str(d.mount)], check=True)
                        rss.append(peak)
                    elif who == "md5sum":
                        seconds, _, _ = timed(["sh", "-c", f"md5sum '{staging}'/*/* >/dev/null"], work, {}, drives[0],
                                              who)
                    else:
                        cps = " & ".join(f"cp '{staging}/DS-{i:04d}/volume1.BaseBlob' '{d.mount}/'"
                                         for i, d in enumerate(drives))
                        seconds, _, _ = timed(["sh", "-c", f"{cps} & wait; sync"], work, {}, drives[0], who)
                finally:
                    for d in drives:
                        d.__exit__(None, None, None)
                runs[who].append(seconds)
    finally:
        sandbox.close()
    rows = range(args.rounds)
    bound = [max(runs["cp+sync (all at once)"][i], runs["md5sum"][i] / CORES) for i in rows]
    print(f"\n#### {n} drives at once: {n} agent-shaped files of {each / 2**30:.2f} GiB, one a drive, "
          f"{args.rounds} round(s), {CORES} cores")
    print("| contender | seconds min / median / max |\n|---|---|")
    for who, times in runs.items():
        print(f"| {who} | {spread(times)} |")
    print(f"| seedctl apply / max(cp+sync, md5sum/cores) | "
          f"{spread([runs['seedctl apply'][i] / bound[i] for i in rows])} |")
    print("\n| process CPU (user + system) | seconds min / median / max | per GiB at median |\n|---|---|---|")
    for who, times in CPU.items():
        print(f"| {who} | {spread(times)} | {statistics.median(times) / (n * each / 2**30):.2f} |")
    print(f"\npeak RSS, seedctl apply with {n} drives (whole process): {spread(rss)} MiB")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gib", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=Path("/var/tmp/seedctl-bench"))
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--no-resume", action="store_true", help="skip the kill-at-65 %% and resume runs")
    ap.add_argument("--no-zero-effect", action="store_true",
                    help="skip the prepare that writes, hashes and lists zero chunks like data")
    ap.add_argument("--quick", action="store_true", help="a 1 GiB file, one round (a check that it runs)")
    ap.add_argument("--code", type=Path, default=ROOT, help="seedctl source tree to measure")
    ap.add_argument("--drives", type=int, default=1, help="write N drives at once (N files of gib/N each)")
    ap.add_argument("--warmup", type=int, default=1,
                    help="untimed cp+sync runs onto a fresh drive before the rounds (default 1; see warm_up)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench_large.py needs root (losetup, mount): skipped")
        return 0
    if args.quick:
        args.gib, args.rounds = 1.0, 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    size = int(args.gib * 1024 * MiB) // 512 * 512
    if args.drives > 1:
        work = args.workdir / "run-large-drives"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        return several_drives(args, size, work)
    staging = args.workdir / f"large-agent-{args.gib:g}GiB"
    facts = build_file(staging / "DS-0001" / "volume1.BaseBlob", size)
    work = args.workdir / "run-large"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    environ = dict(os.environ, SEEDCTL_CODE=str(args.code.resolve()))
    sandbox = Sandbox(work)
    environ_apply = dict(sandbox.environ, SEEDCTL_CODE=str(args.code.resolve()))
    image = int(size * 1.15) + 256 * MiB
    names = ["seedctl apply", "seedctl prepare", "reference", "cp+sync", "md5sum"]
    if not args.no_zero_effect:
        names.append("prepare, zeros as data")
    drives_out: dict[str, dict] = {}
    runs: dict[str, list[float]] = {n: [] for n in names}
    rss: dict[str, list[float]] = {"seedctl apply": [], "seedctl prepare": [], "resume": []}
    resumes: list[float] = []
    loads = []
    try:
        warmups = warm_up(work, staging, image, args.warmup)
        for r in range(args.rounds):
            loads.append(os.getloadavg()[0])
            for who in names[r % len(names):] + names[:r % len(names)]:
                with FreshDrive(work, image, 10_000) as drive:
                    prepare_caches(staging, cold=False)
                    if who == "seedctl apply":
                        spec = sandbox.spec(work, staging, drive)
                        seconds, peak, _ = timed(apply_argv(spec), work, environ_apply, drive, who)
                        rss[who].append(peak)
                    elif who in ("seedctl prepare", "prepare, zeros as data"):
                        seconds, peak, out = timed([sys.executable, "-c", PREPARE, str(staging), str(drive.mount),
                                                    drive.serial, "skip" if who == "seedctl prepare" else "data"],
                                                   work, environ, drive, who)
                        rss.setdefault(who, []).append(peak)
                        drives_out.setdefault(who, json.loads(out.strip().splitlines()[-1]))
                    elif who == "reference":
                        seconds, _, _ = timed([sys.executable, str(HERE / "reference_copier.py"), str(staging),
                                               str(drive.mount / "ref"), "--page"], work, environ, drive, who)
                    elif who == "cp+sync":
                        seconds, _, _ = timed(["cp", "-r", str(staging), str(drive.mount / "cp")], work, environ, drive,
                                              who)
                    else:
                        seconds, _, _ = timed(["sh", "-c", f"md5sum '{staging}/DS-0001/volume1.BaseBlob' >/dev/null"],
                                              work, environ, drive, who)
                runs[who].append(seconds)
            if not args.no_resume:
                with FreshDrive(work, image, 10_000) as drive:
                    prepare_caches(staging, cold=False)
                    _, seconds, peak = killed_then_resumed(sandbox, work, staging, drive, environ_apply)
                resumes.append(seconds)
                rss["resume"].append(peak)
            loads.append(os.getloadavg()[0])
    finally:
        sandbox.close()
    rows = range(args.rounds)
    bound = [max(runs["cp+sync"][i], runs["md5sum"][i] / CORES) for i in rows]
    ratios = {
        "seedctl apply / max(cp+sync, md5sum/cores)": [runs["seedctl apply"][i] / bound[i] for i in rows],
        "seedctl prepare / max(cp+sync, md5sum/cores)": [runs["seedctl prepare"][i] / bound[i] for i in rows],
        "seedctl apply / reference": [runs["seedctl apply"][i] / runs["reference"][i] for i in rows],
        "seedctl prepare / reference": [runs["seedctl prepare"][i] / runs["reference"][i] for i in rows],
        "seedctl apply / cp+sync": [runs["seedctl apply"][i] / runs["cp+sync"][i] for i in rows],
        "reference / cp+sync": [runs["reference"][i] / runs["cp+sync"][i] for i in rows],
    }
    if resumes:
        ratios["resume after a kill at 65 % / apply"] = [resumes[i] / runs["seedctl apply"][i] for i in rows]
    if "prepare, zeros as data" in runs:
        ratios["prepare / prepare with zeros as data"] = [runs["seedctl prepare"][i] / runs["prepare, zeros as data"][i]
                                                        for i in rows]
    print(f"\n#### large: one {size / 2**30:g} GiB agent-shaped file ({facts['zero_bytes'] / size:.0%} zero runs), "
          f"{args.rounds} round(s), warm page cache, {CORES} cores")
    print(f"1-minute load average at the start and end of each round: {', '.join(f'{x:.2f}' for x in loads)}")
    print(f"untimed warm-up cp+sync before the rounds: {', '.join(f'{x:.2f} s' for x in warmups) or 'none'}\n")
    print("| contender | seconds min / median / max | MiB/s at median |\n|---|---|---|")
    for who, times in runs.items():
        print(f"| {who} | {spread(times)} | {size / MiB / statistics.median(times):,.0f} |")
    if resumes:
        print(f"| apply resuming after a kill at 65 % | {spread(resumes)} | |")
    print("\n| ratio (within a round) | min / median / max |\n|---|---|")
    for label, values in ratios.items():
        print(f"| {label} | {spread(values)} |")
    print("\n| process CPU (user + system) | seconds min / median / max | CPU seconds per GiB at median |\n|---|---|---|")
    for who, times in CPU.items():
        print(f"| {who} | {spread(times)} | {statistics.median(times) / (size / 2**30):.2f} |")
    for who, peaks in rss.items():
        if peaks:
            print(f"\npeak RSS, {who} (whole process): {spread(peaks)} MiB")
    if len(drives_out) == 2:
        skip, data = drives_out["seedctl prepare"], drives_out["prepare, zeros as data"]
        print("\n| zero ranges | left out (seedctl) | written as data |\n|---|---|---|")
        print(f"| page ranges in the manifest | {skip['ranges']:,} | {data['ranges']:,} |")
        print(f"| manifest bytes | {skip['manifest']:,} | {data['manifest']:,} |")
        print(f"| bytes allocated on the drive | {skip['allocated']:,} | {data['allocated']:,} |")
    values = ratios["seedctl apply / max(cp+sync, md5sum/cores)"]
    verdict = "met" if statistics.median(values) <= GOAL_RATIO else "missed"
    print(f"GOAL: seedctl apply <= {GOAL_RATIO} x max(cp+sync, md5sum/cores), large set: median "
          f"{statistics.median(values):.2f} (min {min(values):.2f}, max {max(values):.2f}) -> {verdict}")
    peak = max(rss["seedctl apply"] + rss["resume"])
    print(f"GOAL: seedctl apply peak RSS <= {GOAL_RSS_MIB} MiB: max {peak:.0f} MiB -> "
          f"{'met' if peak <= GOAL_RSS_MIB else 'missed'}")
    if args.json:
        args.json.write_text(json.dumps({"set": "large", "bytes": size, "warmups": warmups, "facts": facts,
                                         "cores": CORES, "runs": runs, "cpu": CPU, "drives": drives_out,
                                         "resumes": resumes, "ratios": ratios, "rss_mib": rss, "loads": loads},
                                        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
