"""Issue 23: a background thread keeps planting links, FIFOs and swapped folders in the drive's
`.seedctl` and `seed` folders and in staging while `apply` (with a shipment block), `verify` and
`destroy --staging --deep` run as real processes on the sandbox.

Checked: no byte outside the drive and staging changes (a victim folder, the target of every planted
link and the stand-in for every swapped folder, is compared entry by entry with SHA-256 before and
after); every command ends within its timeout without a traceback (a clear error is fine: the
plantings make many runs fail); and when the job was marked shipped, its invariant holds: every drive
the job lists carries, by its kept manifest, the manifest hash the job lists, and those manifests
cover the staging tree as it was written.

The fast variant (one seed, a few rounds) runs in the default suite; `pytest -m reliability` runs
more seeds (SEEDCTL_RACE_SEEDS, default 4). Plantings in .seedctl/tmp (the folder swapped for a
link, or links at the names an earlier seedctl used, 00000005.part) meet the copy engine's
temporary-file open: O_EXCL | O_NOFOLLOW under unpredictable names, in a folder held open.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from seedctl.drives import read_manifest
from seedctl.records import md5_hex

from platforms import FIFOS, SYMLINKS
from worlds import make_world, snapshot

TIMEOUT = 90

pytestmark = [SYMLINKS, FIFOS]  # plants POSIX symbolic links and FIFOs


class Planter(threading.Thread):
    """Plants hostile entries at random until stopped, and takes every one of them away again."""

    def __init__(self, rng: random.Random, drives: list[Path], staging: Path, victim: Path) -> None:
        super().__init__(daemon=True)
        self.rng, self.drives, self.staging, self.victim = rng, drives, staging, victim
        self.stop = threading.Event()
        self.swaps = threading.Event()  # drive folder swaps on (most applies then fail: switched off to let one ship)
        self.swaps.set()
        # staging folder swaps: a folder renamed in staging is a legitimate change of what is seeded, so
        # they run while verify and destroy do (failure 3), not while apply decides what ships (failure 2
        # has its own test)
        self.staging_swaps = threading.Event()
        self.planted: list[Path] = []
        self.actions = 0
        self.n = 0

    def _fresh(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.n}"

    def _link(self, where: Path, target: Path) -> None:
        try:
            where.symlink_to(target)
            self.planted.append(where)
        except OSError:
            pass

    def _fifo(self, where: Path) -> None:
        try:
            os.mkfifo(where)
            self.planted.append(where)
        except OSError:
            pass

    def _swap(self, folder: Path, stand_in: Path) -> None:
        """Swap a folder for a link to the victim for a moment, then put it back."""
        hidden = folder.with_name(folder.name + ".swapped")
        try:
            os.rename(folder, hidden)
        except OSError:
            return
        try:
            folder.symlink_to(stand_in, target_is_directory=True)
        except OSError:
            pass
        time.sleep(self.rng.uniform(0.005, 0.15))
        try:
            if folder.is_symlink():
                folder.unlink()
            os.rename(hidden, folder)
        except OSError:
            # seedctl made a new folder there meanwhile: keep both apart, the drive is rewritten or refused
            self.planted.append(hidden)

    def run(self) -> None:
        victim_file = self.victim / "one"
        while not self.stop.is_set():
            self.actions += 1
            drive = self.rng.choice(self.drives)
            choice = self.rng.randrange(9)
            swapping = self.swaps if choice == 4 else self.staging_swaps
            if choice in (4, 7) and not (swapping.is_set() and self.rng.random() < 0.6):
                choice = self.rng.choice((0, 1, 2, 3, 5, 6))
            if choice == 0:
                self._link(drive / ".seedctl" / self._fresh("lnk"), victim_file)
            elif choice == 1 and (drive / ".seedctl").is_dir():
                self._fifo(drive / ".seedctl" / self._fresh("fifo"))
            elif choice == 2 and (drive / "seed").is_dir():
                self._link(drive / "seed" / self._fresh("lnk"), victim_file)
            elif choice == 3 and (drive / "seed").is_dir():
                self._fifo(drive / "seed" / self._fresh("fifo"))
            elif choice == 4 and (drive / "seed" / "backup").is_dir():
                self._swap(drive / "seed" / "backup", self.victim / "drive-backup")
            elif choice == 5:
                self._link(self.staging / self._fresh("lnk"), victim_file)
            elif choice == 6:
                self._fifo(self.staging / self._fresh("fifo"))
            elif choice == 7 and (self.staging / "backup").is_dir():
                self._swap(self.staging / "backup", self.victim / "staging-backup")
            elif choice == 8:
                tmp = drive / ".seedctl" / "tmp"
                if self.rng.random() < 0.5:
                    self._swap(tmp, self.victim)
                else:
                    self._link(tmp / f"{self.rng.randrange(8):08d}.part", victim_file)
            time.sleep(self.rng.uniform(0.0005, 0.01))

    def clean(self) -> None:
        self.stop.set()
        self.join(timeout=10)
        for path in self.planted:
            try:
                if path.is_symlink() or path.is_fifo():
                    path.unlink()
                elif path.name.endswith(".swapped") and path.is_dir():
                    shutil.rmtree(path)
            except OSError:
                pass


def run_cli(world, *args: str) -> subprocess.CompletedProcess:
    env = dict(world.environ, PYTHONUNBUFFERED="1")
    try:
        done = subprocess.run([sys.executable, "-m", "seedctl.cli", *args], cwd=world.root, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`seedctl {' '.join(args)}` did not end within {TIMEOUT} s: {exc.stdout} {exc.stderr}")
    assert "Traceback" not in done.stdout + done.stderr, done.stdout + done.stderr
    return done


def job_shipped(world) -> bool:
    from seedctl.azure.errors import is_not_found

    try:
        job = world.clients().importexport.jobs.get(world.job_name, world.resource_group)
    except Exception as exc:
        if is_not_found(exc):
            return False  # not created yet: every apply so far failed on a planted entry
        raise
    return job["properties"]["state"] not in ("Creating",)


def shipped_invariant(world, staged: dict[str, int]) -> None:
    """The job lists, per drive, the hash of a manifest kept beside the spec, and those manifests
    cover every staging file as written (blob path and size)."""
    job = world.clients().importexport.jobs.get(world.job_name, world.resource_group)
    carried: dict[str, int] = {}
    for d in job["properties"]["driveList"]:
        copy = world.root / ".seedctl" / "manifests" / f"{d['driveId']}.xml"
        assert md5_hex(copy.read_bytes()) == d["manifestHash"].upper(), d["driveId"]
        carried.update({b.blob_path: b.length for b in read_manifest(copy).blobs})
    for rel, size in staged.items():
        assert carried.get(f"seed/{rel}") == size, f"{rel} shipped without its data"


def race(tmp_path: Path, sandbox, seed: int, rounds: int) -> None:
    files = {"backup/full-0001.vhd": random.Random(seed).randbytes(300_000),
             "backup/full-0002.vhd": random.Random(seed + 1).randbytes(70_000),
             "backup/meta/catalog.xml": b"<catalog/>\n", "readme.txt": b"offline seed\n"}
    world = make_world(tmp_path / "w", sandbox, files=files, shipment=True)
    victim = tmp_path / "victim"
    # stand-ins for swapped folders: in staging, identical copies (what fooled destroy); on the drive,
    # other bytes under the same names (what a rename into a swapped folder would replace)
    backup = {k.split("/", 1)[1]: v for k, v in files.items() if k.startswith("backup/")}
    for rel, data in {"one": b"victim one", "journal.jsonl": b"victim journal",
                      **{f"staging-backup/{k}": v for k, v in backup.items()},
                      **{f"drive-backup/{k}": b"victim " + v[:100] for k, v in backup.items()},
                      **{f"{n:08d}.part": b"victim part" for n in range(8)}}.items():
        (victim / rel).parent.mkdir(parents=True, exist_ok=True)
        (victim / rel).write_bytes(data)
    before = snapshot(victim, inodes=True)
    staged = {rel: len(data) for rel, data in files.items()}
    planter = Planter(random.Random(seed), [world.drive_path(s) for s in world.serials], world.staging(), victim)
    planter.start()
    try:
        for i in range(rounds):
            if i == rounds // 2:
                planter.swaps.clear()  # links and FIFOs go on being planted; let an apply get through
            run_cli(world, "apply", "--auto-approve")
            if job_shipped(world):
                break
        planter.swaps.set()
        planter.staging_swaps.set()
        if job_shipped(world):
            sandbox.control.advance_job(world.resource_group, world.job_name, "Completed",
                                        subscription=world.subscription_id)
            run_cli(world, "verify")
            run_cli(world, "destroy", "--auto-approve", "--staging", "--deep")
    finally:
        planter.clean()
    assert planter.actions > 20, "the planter barely ran"
    assert snapshot(victim, inodes=True) == before
    if job_shipped(world):
        shipped_invariant(world, staged)


def test_planted_links_fifos_and_swaps_never_reach_outside(tmp_path, sandbox):
    race(tmp_path, sandbox, seed=23, rounds=6)


@pytest.mark.reliability
@pytest.mark.slow
@pytest.mark.parametrize("seed", range(int(os.environ.get("SEEDCTL_RACE_SEEDS", "4"))))
def test_planted_links_fifos_and_swaps_never_reach_outside_many_seeds(tmp_path, sandbox, seed, request):
    if "reliability" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("runs with `pytest -m reliability` (make reliability)")
    race(tmp_path, sandbox, seed=1000 + seed, rounds=8)
