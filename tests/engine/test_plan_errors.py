"""Plan errors and failure paths: wrong drives, data that does not fit, sign-in failures, failed
long-running operations, graph mistakes, stale lock files."""

from __future__ import annotations

import json
import shutil

import pytest

from seedctl.azure.clients import build_clients
from seedctl.azure.credentials import StaticTokenCredential
from seedctl.env import Env
from seedctl.errors import AzureError, PlanError
from seedctl.graph import graph_of
from seedctl.planner import build_plan, make_context
from seedctl.resources.base import Node
from seedctl.spec import load_spec

from worlds import make_world, run_cli


@pytest.fixture
def world(tmp_path, sandbox):
    return make_world(tmp_path, sandbox)


def _drive_change(world, serial):
    plan = json.loads(world.cli("plan", "--json").out)
    return next(c for c in plan["changes"] if c["address"] == f'drive["{serial}"]')


def test_wrong_drive_at_the_mount_point_is_a_plan_error_and_nothing_is_written(world, sandbox):
    from seedctl.sandbox.simdrive import make_drive

    serial = world.serials[0]
    shutil.rmtree(world.drive_path(serial))
    make_drive(sandbox.control, sandbox.dir, "SOMEONE-ELSES-DISK", world.drive_path(serial), 256 * 2**20,
               key_out=None)
    change = _drive_change(world, serial)
    assert change["action"] == "error"
    assert any("SOMEONE-ELSES-DISK" in e and serial in e for e in change["errors"])
    result = world.cli("apply", "--auto-approve")
    assert result.code == 1
    assert not (world.drive_path(serial) / "DriveManifest.xml").exists()
    assert not (world.drive_path(serial) / "seed").exists()


def test_drive_smaller_than_the_spec_says_is_a_plan_error(world):
    world.edit_spec(lambda d: d["drives"][0].__setitem__("capacity", "2TB"))
    change = _drive_change(world, world.serials[0])
    assert change["action"] == "error"
    assert any("the spec expects" in e for e in change["errors"])


def test_foreign_data_on_a_drive_is_a_plan_error(world):
    (world.drive_path(world.serials[1]) / "holiday-photos").mkdir()
    change = _drive_change(world, world.serials[1])
    assert change["action"] == "error"
    assert any("not seedctl's" in e and "holiday-photos" in e for e in change["errors"])


def test_file_larger_than_any_drive_is_a_plan_error_with_figures(tmp_path, sandbox):
    files = {"big.bin": b"\0" * (40 * 2**20)}
    world = make_world(tmp_path, sandbox, files=files, capacity=100 * 2**20)
    result = world.cli("plan")
    assert result.code == 1
    assert "big.bin is 41,943,040 bytes" in result.out and "larger than the largest drive" in result.out


def test_staging_larger_than_all_drives_is_a_plan_error_with_figures(tmp_path, sandbox):
    files = {f"part-{i}.bin": b"\0" * (20 * 2**20) for i in range(5)}
    world = make_world(tmp_path, sandbox, files=files, capacity=100 * 2**20)
    result = world.cli("plan")
    assert result.code == 1
    assert "short" in result.out and "add at least" in result.out


def test_a_wrong_token_is_a_clear_sign_in_error(world):
    clients = build_clients("sandbox", world.subscription_id, world.environ)
    clients.credential = StaticTokenCredential("not-the-sandbox-token")
    spec = load_spec(world.spec_path)
    ctx = make_context(spec, Env(environ=world.environ), clients_factory=lambda: clients)
    with pytest.raises(AzureError) as caught:
        build_plan(spec, ctx)
    assert "not signed in or the token was refused" in str(caught.value)
    assert "not-the-sandbox-token" not in str(caught.value)


def test_sandbox_not_running_is_a_clear_error(world, tmp_path):
    environ = dict(world.environ, SEEDCTL_SANDBOX_DIR=str(tmp_path / "no-sandbox-here"))
    result = run_cli(["plan"], cwd=world.root, environ=environ)
    assert result.code == 1
    assert "seedctl sandbox up" in result.err


def test_long_running_operation_that_ends_failed_is_reported(world, sandbox):
    sandbox.control.inject_fault("lro_failed", method="PUT", path_regex=r"/storageAccounts/", count=1000)
    try:
        result = world.cli("apply", "--auto-approve")
    finally:
        sandbox.control.clear_faults()
    assert result.code == 1
    failed = [line for line in result.out.splitlines() if "storage_account" in line and "FAILED" in line]
    assert failed and "create storage account" in failed[0]


def test_stale_lock_file_from_a_killed_apply_does_not_block(world):
    lock = world.root / ".seedctl" / "seed.yaml.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(json.dumps({"pid": 999999, "host": "gone", "started": "2026-01-01T00:00:00+00:00"}))
    result = world.cli("apply", "--auto-approve", "--lock-timeout", "0")
    assert result.code == 0, result.err


class _Stub(Node):
    kind = "stub"


def test_graph_cycles_and_dangling_references_are_errors():
    a, b = _Stub("a", ('stub["b"]',)), _Stub("b", ('stub["a"]',))
    with pytest.raises(PlanError, match="cycle"):
        graph_of([a, b])
    with pytest.raises(PlanError, match="not in the spec"):
        graph_of([_Stub("c", ('stub["nowhere"]',))])
    with pytest.raises(PlanError, match="share the address"):
        graph_of([_Stub("d"), _Stub("d")])


def test_permission_denied_names_the_role_and_is_never_read_as_absent(world, sandbox):
    # the plan identity may not read the storage account: the plan stops, it does not plan a create
    sandbox.control.inject_fault("403", method="GET", path_regex=r"/storageAccounts/", count=1000)
    try:
        result = world.cli("plan")
    finally:
        sandbox.control.clear_faults()
    assert result.code == 1
    assert "permission denied" in result.err and "Reader role" in result.err
    assert "will be created" not in result.out


def test_saved_plan_of_another_format_or_cloud_is_refused(world):
    assert world.cli("plan", "--out", "plan.json").code == 0
    saved = world.root / "plan.json"
    data = json.loads(saved.read_text())
    # planned for the sandbox, applied against a real cloud: refused before anything is read
    other_cloud = world.cli("apply", "plan.json", "--cloud", "AzureCloud")
    assert other_cloud.code == 1 and "the saved plan is for cloud sandbox" in other_cloud.err
    data["format_version"] = 99
    saved.write_text(json.dumps(data))
    newer = world.cli("apply", "plan.json")
    assert newer.code == 1 and "plan format 99" in newer.err
    saved.write_text(json.dumps({"format_version": 1, "spec": {}, "changes": [{"address": "x"}]}))
    damaged = world.cli("show", "plan.json")
    assert damaged.code == 1 and "damaged saved plan" in damaged.err
