"""Build a seeding "world" for integration tests: a spec file, a staging tree and simulated drives
registered with the running sandbox, all in a tmp folder, under a subscription of its own (so tests
sharing one sandbox never see each other's resources).

Also `run_cli`, which runs the real CLI in-process with its own streams, cwd and environment.
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from seedctl.cli import main
from seedctl.env import Env


@dataclass
class CliResult:
    code: int
    out: str
    err: str


class _TextIO(io.StringIO):
    def isatty(self) -> bool:
        return False


def run_cli(args: list[str], *, cwd: Path, environ: dict[str, str], stdin: str = "") -> CliResult:
    out, err = _TextIO(), _TextIO()
    env = Env(stdout=out, stderr=err, stdin=_TextIO(stdin), environ=environ, cwd=str(cwd))
    code = main(args, env=env)
    return CliResult(code, out.getvalue(), err.getvalue())


def snapshot(folder: Path, *, inodes: bool = False) -> dict[str, str]:
    """Every entry under `folder`, to compare before and after: files by SHA-256 (and inode, when a
    file renamed over one with the same bytes must count as a change), links by target, FIFOs and
    folders by kind."""
    out = {}
    for path in sorted(Path(folder).rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            out[rel] = "link:" + os.readlink(path)
        elif path.is_fifo():
            out[rel] = "fifo"
        elif path.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() + (f" inode {path.stat().st_ino}" if inodes else "")
    return out


def default_files() -> dict[str, bytes]:
    """A small mixed staging tree: a few sizes, a nested folder, a multi-block file."""
    rng = __import__("random").Random(7)
    return {
        "backup/full-0001.vhd": rng.randbytes(5 * 1024 * 1024 + 123),
        "backup/full-0002.vhd": rng.randbytes(700_000),
        "backup/meta/catalog.xml": b"<catalog>seed</catalog>\n",
        "readme.txt": b"offline seed\n",
        "empty.bin": b"",
    }


def agent_files(seed: int = 22, *, scale: int = 1) -> dict[str, bytes]:
    """A small staging tree shaped like the backup agent's (for `staging.blob_type: page`): per
    data-source folders of `*.BaseBlob` / `*.AIBBlob` files whose sizes are multiples of 512, with
    long zero runs (one 4 MiB-aligned, others not: both the omitted ranges and the trimmed ends
    are exercised), one file of more than one 4 MiB range, one all zeros."""
    rng = __import__("random").Random(seed)
    mib = 1024 * 1024

    def shaped(size: int, zero_runs: list[tuple[int, int]]) -> bytes:
        data = bytearray(rng.randbytes(size))
        for start, length in zero_runs:
            data[start:start + length] = bytes(length)
        return bytes(data)

    return {
        "DS-0001/volume1.BaseBlob": shaped(scale * 9 * mib, [(4 * mib, 4 * mib), (8 * mib + 1536, 100_352)]),
        "DS-0001/volume1.AIBBlob": shaped(scale * 1536 * 1024, [(3584, 700 * 1024)]),
        "DS-0002/volume1.BaseBlob": shaped(scale * 700 * 1024, [(0, 65536), (600 * 1024, 100 * 1024)]),
        "DS-0002/volume1.AIBBlob": bytes(scale * 8192),
    }


@dataclass
class World:
    root: Path
    spec_path: Path
    subscription_id: str
    resource_group: str
    job_name: str
    serials: list[str]
    environ: dict[str, str]
    sandbox: Any
    spec_data: dict[str, Any] = field(default_factory=dict)

    def cli(self, *args: str, stdin: str = "") -> CliResult:
        return run_cli(list(args), cwd=self.root, environ=self.environ, stdin=stdin)

    def write_spec(self, data: dict[str, Any] | None = None) -> None:
        if data is not None:
            self.spec_data = data
        self.spec_path.write_text(yaml.safe_dump(self.spec_data, sort_keys=False), encoding="utf-8")

    def edit_spec(self, fn: Any) -> None:
        fn(self.spec_data)
        self.write_spec()

    def staging(self) -> Path:
        return self.root / "staging"

    def drive_path(self, serial: str) -> Path:
        return self.root / "drives" / serial

    def key(self, serial: str) -> str:
        return (self.root / "keys" / f"{serial}.key").read_text().strip()

    def clients(self) -> Any:
        from seedctl.azure.clients import build_clients

        return build_clients("sandbox", self.subscription_id, self.environ)


def make_world(root: Path, sandbox: Any, *, api: str = "importexport", drives: int = 2,
               capacity: int = 64 * 1024 * 1024 * 4, files: dict[str, bytes] | None = None,
               shipment: bool = False, blob_type: str = "block") -> World:
    """`blob_type` is the spec's `staging.blob_type`: "block" (the default here: most tests seed
    arbitrary files) or "page" (the backup agent's seed; `files` then defaults to `agent_files()`)."""
    from seedctl.sandbox.simdrive import make_drive

    sub = str(uuid.uuid4())
    suffix = sub[:8]
    serials = [f"SIM-{suffix.upper()}-{i + 1:02d}" for i in range(drives)]
    if files is None:
        files = agent_files() if blob_type == "page" else default_files()
    for rel, data in files.items():
        path = root / "staging" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "staging").mkdir(exist_ok=True)
    for serial in serials:
        make_drive(sandbox.control, sandbox.dir, serial, root / "drives" / serial, capacity,
                   key_out=root / "keys" / f"{serial}.key")
    job = {
        "name": f"seed-job-{suffix}",
        "api": api,
        "return_address": {"recipient": "Test Admin", "street1": "1 Test Way", "city": "Redmond",
                           "state_or_province": "WA", "postal_code": "98052", "country_or_region": "US",
                           "phone": "+1 425 555 0100", "email": "admin@example.com"},
        "return_shipping": {"carrier_name": "FedEx", "carrier_account_number": "123456789"},
    }
    if api == "importexport":
        job["log_level"] = "Verbose"
    data: dict[str, Any] = {
        "version": 1,
        "name": f"test-{suffix}",
        "azure": {"cloud": "sandbox", "subscription_id": sub, "resource_group": f"rg-{suffix}",
                  "location": "westus"},
        "vault": {"name": f"vault-{suffix}", "create": True},
        "storage_account": {"name": f"sa{suffix}", "kind": "StorageV2", "create": True},
        "container": {"name": "seed"},
        "staging": {"path": "./staging", "blob_type": blob_type},
        "drives": [{"serial": s, "mount_point": f"./drives/{s}", "capacity": capacity,
                    "bitlocker": {"key": {"file": f"./keys/{s}.key"}}} for s in serials],
        "import_job": job,
    }
    if shipment:
        data["shipment"] = {"carrier_name": "FedEx", "tracking_number": f"TRK{suffix}"}
    world = World(root, root / "seed.yaml", sub, f"rg-{suffix}", job["name"], serials,
                  dict(sandbox.environ, NO_COLOR="1"), sandbox, data)
    world.write_spec()
    os.makedirs(root / "drives", exist_ok=True)
    return world


# -- crash tests: run real `seedctl apply` processes and SIGKILL them at chosen moments -----------

def spawn_apply(world: World) -> Any:
    """`seedctl apply --auto-approve --json` in a child process, its event stream on stdout."""
    import subprocess
    import sys

    env = dict(world.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "seedctl.cli", "apply", "--auto-approve", "--json",
                             "--parallelism", "2"], cwd=world.root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _reap(proc: Any) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()


def kill_when(world: World, predicate: Any, *, timeout: float = 60.0) -> bool:
    """Run apply and SIGKILL it at the first event for which predicate(event) is true.
    Returns True if it was killed, False if apply finished first."""
    import json
    import time

    proc = spawn_apply(world)
    deadline = time.monotonic() + timeout
    killed = False
    try:
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if predicate(event):
                proc.kill()
                killed = True
                break
            if time.monotonic() > deadline:
                break
    finally:
        _reap(proc)
    return killed


def kill_after(world: World, seconds: float) -> None:
    """Start apply and SIGKILL it after `seconds`, wherever it is."""
    import time

    proc = spawn_apply(world)
    time.sleep(seconds)
    _reap(proc)
