"""A seeding workspace on the sandbox: the demo spec with this test's own subscription, drive
serials and folders, so tests share one sandbox without a reset."""

from __future__ import annotations

import io
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from seedctl.cli import main
from seedctl.env import Env

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sandbox-demo.yaml"


@dataclass
class Result:
    rc: int
    out: str
    err: str


@dataclass
class Workspace:
    dir: Path
    sandbox: Any
    tag: str
    spec_path: Path
    drives: list[str] = field(default_factory=list)
    api: str = "importexport"

    @property
    def data(self) -> dict[str, Any]:
        return yaml.safe_load(self.spec_path.read_text())

    def write_spec(self, data: dict[str, Any], path: Path | None = None) -> Path:
        path = path or self.spec_path
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def env(self, clock: Callable[[], datetime] | None = None, stdin: str = "") -> tuple[Env, io.StringIO, io.StringIO]:
        out, err = io.StringIO(), io.StringIO()
        kwargs: dict[str, Any] = {}
        if clock is not None:
            kwargs["clock"] = clock
        return Env(stdout=out, stderr=err, stdin=io.StringIO(stdin), environ=dict(self.sandbox.environ),
                   cwd=str(self.dir), **kwargs), out, err

    def run(self, *argv: str, clock: Callable[[], datetime] | None = None, stdin: str = "") -> Result:
        env, out, err = self.env(clock, stdin)
        rc = main(list(argv), env)
        return Result(rc, out.getvalue(), err.getvalue())

    def make_drive(self, serial: str, folder: str) -> None:
        from seedctl.sandbox.simdrive import make_drive

        make_drive(self.sandbox.control, self.sandbox.dir, serial, self.dir / folder, 512_000_000,
                   key_out=self.dir / "demo-work" / "keys" / f"{serial}.key")

    def add_shipment(self, tracking: str = "1Z999AA10123456784") -> None:
        data = self.data
        data["shipment"] = {"carrier_name": "FedEx", "tracking_number": tracking}
        self.write_spec(data)

    def advance(self, to_state: str | None = "Completed", job: str | None = None) -> dict[str, Any]:
        data = self.data
        return self.sandbox.control.advance_job(data["azure"]["resource_group"], job or data["import_job"]["name"],
                                                to_state, subscription=data["azure"]["subscription_id"])

    def staging(self) -> Path:
        return self.dir / "demo-work" / "staging"


def new_workspace(api: str, sandbox: Any, tmp_path: Path, blob_type: str | None = None) -> Workspace:
    """The demo spec with this test's own subscription, account, serials and drives, for `api`;
    `blob_type` sets `staging.blob_type` (None: the spec's default, page)."""
    tag = uuid.uuid4().hex[:8]
    data = yaml.safe_load(EXAMPLE.read_text())
    job = data["import_job"]
    if api == "databox":
        job["api"] = "databox"
        job.pop("diagnostics_path", None)
        job["log_collection_level"] = job.pop("log_level", job.get("log_collection_level", "Verbose"))
    else:  # the demo spec's databox job, as a classic Import/Export one
        job["api"] = "importexport"
        job["log_level"] = job.pop("log_collection_level", "Verbose")
    if blob_type is not None:
        data["staging"]["blob_type"] = blob_type
    data["azure"]["subscription_id"] = str(uuid.uuid4())
    data["storage_account"]["name"] = f"seed{tag}"
    # serials are global in the sandbox's simulated datacenter: make them this test's own
    serials = [f"SBX-{tag.upper()}-{i}" for i in (1, 2)]
    for drive, serial in zip(data["drives"], serials, strict=True):
        drive["serial"] = serial
        drive["bitlocker"] = {"key": {"file": f"./demo-work/keys/{serial}.key"}}
    ws = Workspace(tmp_path, sandbox, tag, tmp_path / "seed.yaml", serials, api=api)
    ws.write_spec(data)
    ws.staging().mkdir(parents=True)
    for i, serial in enumerate(serials, 1):
        ws.make_drive(serial, f"demo-work/drives/d{i}")
    return ws


@pytest.fixture(params=["importexport", "databox"])
def workspace(request: pytest.FixtureRequest, sandbox: Any, tmp_path: Path) -> Workspace:
    """The same workspace for both job back ends (issue 9: the end-to-end tests run for both), with
    a general data set imported as block blobs (files of any size)."""
    ws = new_workspace(request.param, sandbox, tmp_path, blob_type="block")
    staging = ws.staging()
    (staging / "sub").mkdir(parents=True)
    (staging / "big.bin").write_bytes(os.urandom(9 * 1024 * 1024 + 123))  # three blocks
    (staging / "sub" / "b.bin").write_bytes(os.urandom(70_000))
    (staging / "c.txt").write_text("hello\n")
    (staging / "sub" / "c.txt").write_text("another c\n")
    yield ws
    shutil.rmtree(tmp_path / "demo-work" / "drives", ignore_errors=True)
