"""Issue 23 (hostile input, round 3) and issue 26 item 3: links and races on the drive and in
staging, fresh reads before every irreversible step. One test per failure the red team found, on the
sandbox with the real CLI; each reproduced on main before the fix (docs/reliability.md). Each checks
that nothing outside the drive and staging changed (listings and SHA-256 before and after), that no
job is shipped without the late data, and that every command ends within seconds with a clear error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import seedctl.drives
from seedctl.drives import verify_drive

from platforms import FIFOS, SYMLINKS
from worlds import make_world, snapshot

APIS = ["importexport", "databox"]
TIMEOUT = 60  # seconds a command may take here (a loaded 2-core machine); a hang is caught long before forever

pytestmark = [SYMLINKS, FIFOS]  # plants POSIX symbolic links and FIFOs


def victim_folder(root: Path, files: dict[str, bytes]) -> Path:
    """Read-only files outside the drive and staging (as root, read-only stops nothing)."""
    victim = root / "victim"
    for rel, data in files.items():
        path = victim / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o444)
    return victim


def job_state(world, api: str) -> str:
    clients = world.clients()
    if api == "importexport":
        return clients.importexport.jobs.get(world.job_name, world.resource_group)["properties"]["state"]
    return clients.databox.jobs.get(world.resource_group, world.job_name).properties.status


def not_shipped(state: str) -> bool:
    return state in ("Creating", "AwaitingShipmentDetails")


def cli_process(world, *args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """The real CLI in a child process: a hang shows as a timeout, not a stuck test run."""
    env = dict(world.environ, PYTHONUNBUFFERED="1")
    try:
        return subprocess.run([sys.executable, "-m", "seedctl.cli", *args], cwd=world.root, env=env,
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`seedctl {' '.join(args)}` did not end within {timeout} s (it hangs): {exc.stdout} {exc.stderr}")


def drive_file_of(world, rel: str) -> tuple[str, Path]:
    for serial in world.serials:
        path = world.drive_path(serial) / "seed" / rel
        if path.exists():
            return serial, path
    raise AssertionError(f"{rel} is on no drive")


# -- 1. a link where a drive file should be: the plan calls it damage, apply repairs it ---------------

def test_a_link_or_fifo_in_place_of_a_drive_file_is_damage_and_repaired(tmp_path, sandbox):
    """Failure 1's second half: `os.stat` followed a planted link (to a file of the same size and
    mtime) and the plan said "No changes"."""
    world = make_world(tmp_path, sandbox)
    assert world.cli("apply", "--auto-approve").code == 0
    _, linked = drive_file_of(world, "backup/full-0002.vhd")
    _, fifo = drive_file_of(world, "readme.txt")
    st = linked.stat()
    victim = victim_folder(tmp_path, {"same-size.bin": b"\xee" * st.st_size})
    os.utime(victim / "same-size.bin", ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and mtime as written
    before = snapshot(victim)
    linked.unlink()
    linked.symlink_to(victim / "same-size.bin")
    fifo.unlink()
    os.mkfifo(fifo)
    plan = cli_process(world, "plan")
    assert plan.returncode == 0 and "repair: 1 file(s)" in plan.stdout, plan.stdout + plan.stderr
    assert "full-0002.vhd" in plan.stdout and "readme.txt" in plan.stdout, plan.stdout
    result = cli_process(world, "apply", "--auto-approve")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not linked.is_symlink() and linked.read_bytes() == (world.staging() / "backup/full-0002.vhd").read_bytes()
    assert not fifo.is_fifo() and fifo.read_bytes() == b"offline seed\n"
    assert all(verify_drive(world.drive_path(s)).ok for s in world.serials)
    assert snapshot(victim) == before
    assert world.cli("plan", "--detailed-exitcode").code == 0


# -- 2. the shipment check judged staging from the plan's cached scan --------------------------------

@pytest.mark.parametrize("api", APIS)
def test_staging_changed_while_apply_writes_the_drives_is_never_shipped(tmp_path, sandbox, api, monkeypatch):
    """A file added to staging and another grown while `apply` (with a shipment block) writes the
    drives: the job was shipped without the new data, on both back ends."""
    world = make_world(tmp_path, sandbox, api=api, shipment=True)
    real_prepare = seedctl.drives.prepare_drive
    done, lock = [], threading.Lock()

    def prepare_then_change_staging(*args, **kwargs):
        result = real_prepare(*args, **kwargs)
        with lock:
            done.append(args[1])
            if len(done) == len(world.serials):  # the last drive is written: staging changes now
                (world.staging() / "late.bin").write_bytes(b"late data" * 100)
                with open(world.staging() / "readme.txt", "ab") as fh:
                    fh.write(b"grown\n")
        return result

    monkeypatch.setattr(seedctl.drives, "prepare_drive", prepare_then_change_staging)
    result = world.cli("apply", "--auto-approve")
    assert result.code == 1, result.out + result.err
    text = result.out + result.err
    assert "shipment of import job" in text and "refused" in text, text
    assert "late.bin" in text and "readme.txt" in text, text
    assert not_shipped(job_state(world, api))
    monkeypatch.undo()
    plan = world.cli("plan", "--detailed-exitcode")
    assert plan.code in (1, 2), plan.out  # changes to apply (classic) or a plan error (Data Box): never "No changes"


# -- 3. destroy --staging followed a folder link out of staging ---------------------------------------

@pytest.mark.parametrize("api", APIS)
def test_destroy_staging_never_follows_a_folder_swapped_for_a_link(tmp_path, sandbox, api):
    world = make_world(tmp_path, sandbox, api=api, shipment=True)
    assert world.cli("apply", "--auto-approve").code == 0
    sandbox.control.advance_job(world.resource_group, world.job_name, "Completed", subscription=world.subscription_id)
    assert world.cli("verify").code == 0
    # staging/backup swapped for a link to a read-only folder elsewhere holding identical copies
    backup = world.staging() / "backup"
    victim = victim_folder(tmp_path, {str(p.relative_to(backup)): p.read_bytes()
                                      for p in backup.rglob("*") if p.is_file()})
    victim.chmod(0o555)
    before = snapshot(victim)
    shutil.rmtree(backup)
    backup.symlink_to(victim, target_is_directory=True)
    result = cli_process(world, "destroy", "--auto-approve", "--staging", "--deep")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "backup is a symbolic link, not a folder" in result.stdout, result.stdout
    assert snapshot(victim) == before
    assert backup.is_symlink()
    left = sorted(str(p.relative_to(world.staging())) for p in world.staging().iterdir())
    assert left == ["backup"]  # the staging files that were in staging itself were deleted


def test_destroy_staging_keeps_files_whose_fresh_evidence_is_content_md5_only(tmp_path, sandbox):
    """The verification record and the blob's Content-MD5 can be forged by anyone who can write to
    the storage account: destroy decides from a verification of its own, on listing evidence."""
    world = make_world(tmp_path, sandbox, shipment=True)
    assert world.cli("apply", "--auto-approve").code == 0
    sandbox.control.advance_job(world.resource_group, world.job_name, "Completed", subscription=world.subscription_id)
    assert world.cli("verify").code == 0
    before = snapshot(world.staging())
    # a blob replaced by someone with write access to the account, its Content-MD5 set to the right value
    from azure.storage.blob import ContentSettings

    cc = world.clients().blob_service(f"sa{world.subscription_id[:8]}", world.resource_group) \
        .get_container_client("seed")
    blob = cc.get_blob_client("readme.txt")
    props = blob.get_blob_properties()
    blob.upload_blob(b"forged\n" + b"x" * 6, overwrite=True)
    blob.set_http_headers(ContentSettings(content_md5=props.content_settings.content_md5))  # settable metadata
    result = cli_process(world, "destroy", "--staging")  # no terminal: shows the plan, deletes nothing
    text = result.stdout + result.stderr
    # kept: the forged blob was not committed under the manifest's block ids, so only its content can
    # tell (verify --deep), whatever its Content-MD5 says
    assert "readme.txt" in text and ("unverified" in text or "damaged" in text), text
    assert snapshot(world.staging()) == before
    deep = cli_process(world, "destroy", "--auto-approve", "--staging", "--deep")
    assert deep.returncode == 0, deep.stdout + deep.stderr
    assert (world.staging() / "readme.txt").read_bytes() == b"offline seed\n"  # its blob is not its content
    assert "readme.txt" in deep.stdout and "damaged" in deep.stdout, deep.stdout


# -- 4. a FIFO or a link to /dev/zero in a manifest's place hung verify, repair, destroy, shipment -----

def test_a_fifo_or_dev_zero_manifest_never_hangs_the_lifecycle_commands(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox, shipment=True)
    assert world.cli("apply", "--auto-approve").code == 0
    sandbox.control.advance_job(world.resource_group, world.job_name, "Completed", subscription=world.subscription_id)
    shutil.rmtree(world.root / ".seedctl" / "manifests")  # a fresh clone of the spec's folder: no kept copies
    first, second = (world.drive_path(s) / "DriveManifest.xml" for s in world.serials)
    first.unlink()
    os.mkfifo(first)
    second.unlink()
    second.symlink_to("/dev/zero")
    before = snapshot(world.root / "drives")
    for args in (["verify"], ["repair", "--out", "repair.yaml"], ["destroy", "--auto-approve"]):
        result = cli_process(world, *args)
        text = result.stdout + result.stderr
        assert "Traceback" not in text, text
        if result.returncode != 0:
            assert "FIFO" in text or "symbolic link" in text or "no trustworthy manifest" in text, text
    assert snapshot(world.root / "drives") == before


def test_a_fifo_or_dev_zero_kept_manifest_never_hangs_the_shipment_check(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox)
    assert world.cli("apply", "--auto-approve").code == 0
    for serial in world.serials:  # packed for shipping: the kept copies are what the check reads
        world.drive_path(serial).rename(tmp_path / f"packed-{serial}")
    first, second = (world.root / ".seedctl" / "manifests" / f"{s}.xml" for s in world.serials)
    first.unlink()
    os.mkfifo(first)
    second.unlink()
    second.symlink_to("/dev/zero")
    world.edit_spec(lambda d: d.__setitem__("shipment", {"carrier_name": "FedEx", "tracking_number": "T-1"}))
    result = cli_process(world, "apply", "--auto-approve")
    text = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in text, text
    assert "FIFO" in text and "symbolic link" in text, text
    assert not_shipped(job_state(world, "importexport"))


# -- 5. a drive bind-mounted inside staging was seeded onto the drive itself --------------------------

def _bind(source: Path, target: Path) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True)
    return done.returncode == 0


def _unmount(target: Path) -> None:
    subprocess.run(["umount", str(target)], capture_output=True)


@pytest.mark.parametrize("how", ["bind-mount", "copy-of-a-drive"])
def test_a_drive_inside_staging_is_not_seeded(tmp_path, sandbox, how):
    world = make_world(tmp_path, sandbox)
    assert world.cli("apply", "--auto-approve").code == 0
    inside = world.staging() / "mnt"
    if how == "bind-mount":
        if not _bind(world.drive_path(world.serials[0]), inside):
            pytest.skip("mount --bind is not permitted here")
    else:  # what a bind mount shows, where mounting is not permitted: the drive's own folders
        shutil.copytree(world.drive_path(world.serials[0]), inside, symlinks=True)
    try:
        before = {s: snapshot(world.drive_path(s)) for s in world.serials}
        plan = world.cli("plan", "--json")
        changes = {c["address"]: c for c in json.loads(plan.out)["changes"]}
        staging = changes['staging["staging"]']
        assert any("mnt" in n and "holds a seedctl drive" in n for n in staging["notes"]), staging
        assert all(changes[f'drive["{s}"]']["action"] == "no-op" for s in world.serials), plan.out
        assert world.cli("apply", "--auto-approve").code == 0
        assert {s: snapshot(world.drive_path(s)) for s in world.serials} == before
        world.edit_spec(lambda d: d["staging"].__setitem__("strict", True))
        strict = world.cli("plan")
        assert strict.code == 1 and "staging.strict" in strict.out, strict.out
    finally:
        if how == "bind-mount":
            _unmount(inside)


def test_another_filesystem_inside_staging_is_a_visible_skip(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox)
    inside = world.staging() / "other-fs"
    inside.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "none", str(inside)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        (inside / "not-seeded.bin").write_bytes(b"on another filesystem")
        plan = world.cli("plan", "--json")
        staging = {c["address"]: c for c in json.loads(plan.out)["changes"]}['staging["staging"]']
        assert any("other-fs" in n and "another filesystem" in n for n in staging["notes"]), staging
        assert world.cli("apply", "--auto-approve").code == 0
        assert not any((world.drive_path(s) / "seed" / "other-fs").exists() for s in world.serials)
    finally:
        _unmount(inside)


# -- key files on kernel pseudo-filesystems --------------------------------------------------------

@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_a_key_file_under_proc_fails_validate_check_secrets(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox, drives=1)
    world.edit_spec(lambda d: d["drives"][0]["bitlocker"].__setitem__("key", {"file": "/proc/self/environ"}))
    result = world.cli("validate", "--check-secrets")
    assert result.code != 0 and "/proc" in result.out + result.err and "pseudo-filesystem" in result.out + result.err


# -- after shipment: staging that differs from the shipped manifests is a warning naming the files ---

def test_a_plan_after_shipment_warns_about_staging_that_was_not_shipped(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox, shipment=True)
    assert world.cli("apply", "--auto-approve").code == 0
    assert world.cli("plan", "--detailed-exitcode").code == 0  # shipped, staging as written: nothing to say
    (world.staging() / "zz-after.bin").write_bytes(b"written after the drives left")
    with open(world.staging() / "readme.txt", "ab") as fh:
        fh.write(b"and grown\n")
    plan = world.cli("plan")
    assert plan.code == 0, plan.out
    assert "warning: 1 staging file(s) are on no shipped drive (zz-after.bin)" in plan.out, plan.out
    assert "warning: 1 staging file(s) differ from the copy that was shipped (readme.txt)" in plan.out, plan.out
