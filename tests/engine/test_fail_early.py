"""Fail early (issue 15): what apply would refuse for a reason knowable at plan time is a plan
error, and nothing in Azure is created first. Real CLI, real sandbox, real drive folders."""

from __future__ import annotations

import shutil
import sys

import pytest

from worlds import make_world

pytestmark = pytest.mark.sandbox

posix_only = pytest.mark.skipif(sys.platform.startswith("win"), reason="bitlocker.manage works on Windows")


def _groups(world) -> list[str]:
    return [g.name for g in world.clients().resource.resource_groups.list()]


@posix_only
def test_bitlocker_manage_off_windows_is_a_plan_error_and_apply_creates_nothing(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox)
    world.edit_spec(lambda d: d["drives"][0].__setitem__("bitlocker", {"manage": True}))
    serial = world.serials[0]

    validated = world.cli("validate")
    assert validated.code == 0  # a valid spec, perhaps for a Windows copy computer
    assert "bitlocker.manage: true needs Windows" in validated.err

    plan = world.cli("plan")
    assert plan.code == 1
    assert f"drive {serial}: bitlocker.manage: true needs Windows" in plan.out

    applied = world.cli("apply", "--auto-approve")
    assert applied.code == 1
    assert "the plan has errors" in applied.err
    assert world.resource_group not in _groups(world), "apply created Azure objects before failing"

    # a CI runner planning for the Windows copy computer is not refused
    assert world.cli("plan", "--local-state", "skip").code == 0


def test_missing_staging_folder_with_drives_attached_is_a_plan_error(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox)
    shutil.rmtree(world.staging())
    plan = world.cli("plan")
    assert plan.code == 1
    assert 'staging["staging"] cannot be planned' in plan.out
    assert "is not present here, but 2 of the spec's drives are attached here" in plan.out


def test_missing_staging_folder_without_drives_here_is_said_not_hidden(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox)
    shutil.rmtree(world.staging())
    shutil.rmtree(world.root / "drives")
    (world.root / "drives").mkdir()
    plan = world.cli("plan")
    assert 'Not observed here: staging["staging"]: staging folder' in plan.out, plan.out


def test_a_drive_not_attached_is_an_error_with_local_state_require(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox)
    shutil.rmtree(world.root / "drives" / world.serials[1])
    assert world.cli("plan").code == 0  # auto: deferred to apply
    plan = world.cli("plan", "--local-state", "require")
    assert plan.code == 1
    assert f"--local-state=require: drive {world.serials[1]} is not attached here" in plan.out


def test_out_refuses_to_save_a_plan_with_errors(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox)
    shutil.rmtree(world.staging())
    plan = world.cli("plan", "--out", "plan.json")
    assert plan.code == 1
    assert not (world.root / "plan.json").exists()
    assert "Not saving the plan to plan.json: it has errors" in plan.err
    assert "Apply exactly this plan" not in plan.err
