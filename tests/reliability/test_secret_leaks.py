"""Secret-leak scan: run the whole job — plan, apply, shipment, datacenter, status, verify — with
-v, --json and markdown output, plus failure paths, and search every byte printed, and every file
seedctl wrote, for the BitLocker keys and the storage account key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from worlds import make_world

pytestmark = pytest.mark.reliability


def _needles(world) -> list[str]:
    keys = [world.key(s) for s in world.serials]
    clients = world.clients()
    account = world.spec_data["storage_account"]["name"]
    storage_keys = [k["value"] for k in dict(clients.storage.storage_accounts.list_keys(
        world.resource_group, account))["keys"]]
    # the keys as written, and without their separators (a formatter might strip them)
    return [*keys, *(k.replace("-", "") for k in keys), *storage_keys, world.sandbox.connection.token]


def _written_files(root: Path) -> list[Path]:
    """Everything under the spec's folder except the key files themselves and the staging data."""
    return [p for p in root.rglob("*") if p.is_file() and "keys" not in p.parts and "staging" not in p.parts]


@pytest.mark.parametrize("api", ["importexport", "databox"])
def test_no_secret_in_any_output_or_written_file(api, tmp_path, sandbox):
    world = make_world(tmp_path, sandbox, api=api)
    outputs: list[str] = []

    def run(*args: str, ok: tuple[int, ...] = (0,)) -> None:
        result = world.cli(*args)
        outputs.extend([result.out, result.err])
        assert result.code in ok, (args, result.out[-1500:], result.err[-1500:])

    run("-v", "plan")
    run("-v", "plan", "--json")
    run("plan", "--format", "markdown")
    run("-v", "plan", "--out", "plan.json")
    run("-v", "show", "plan.json", "--json")
    # a failure path with -v: the job cannot be created (server errors until retries run out)
    jobs = r"/Microsoft\.(ImportExport|DataBox)/jobs/"
    sandbox.control.inject_fault("500", method="PUT", path_regex=jobs, count=1000)
    try:
        run("-v", "apply", "--auto-approve", "--json", ok=(1,))
    finally:
        sandbox.control.clear_faults()
    run("-v", "apply", "--auto-approve")
    world.edit_spec(lambda d: d.__setitem__("shipment", {"carrier_name": "FedEx", "tracking_number": "TRK-LEAK-1"}))
    run("-v", "apply", "--auto-approve", "--json")
    run("-v", "status", "--json", ok=(0, 3))
    sandbox.control.advance_job(world.resource_group, world.job_name, "Completed",
                                subscription=world.subscription_id)
    run("-v", "status", ok=(0, 3))
    run("-v", "status", "--json", ok=(0, 3))
    run("-v", "verify")
    run("--debug", "verify", "--json")
    for path in _written_files(world.root):
        outputs.append(path.read_bytes().decode("utf-8", "replace"))
    needles = _needles(world)
    assert all(len(n) >= 20 for n in needles)
    leaks = [(n[:6] + "…", i) for i, text in enumerate(outputs) for n in needles if n in text]
    assert not leaks, f"secret found in outputs {leaks}"
    # sanity: the scan looked at real output, debug logs included (every HTTP request, track 1 and 2)
    assert any("(sensitive)" in text for text in outputs)
    assert any("seedctl.http: HTTP PUT" in text for text in outputs)
    assert any("seedctl.http: HTTP GET" in text and "/containers" in text for text in outputs)
    assert any(json.dumps("summary")[1:-1] in text for text in outputs)
