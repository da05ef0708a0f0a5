"""`seedctl apply` against the sandbox with the real SDK clients (issue 6 acceptance)."""

from __future__ import annotations

import io
import json
import os

import pytest
import yaml
from manifest_reference import check_drive

from seedctl.drives import manifest_hash, verify_drive

from worlds import kill_after, kill_when, make_world


@pytest.fixture
def world(tmp_path, sandbox):
    return make_world(tmp_path, sandbox)


def job_list(world):
    clients = world.clients()
    if not clients.resource.resource_groups.check_existence(world.resource_group):
        return []
    if clients.resource.providers.get("Microsoft.ImportExport").registration_state != "Registered":
        return []
    return list(world.clients().importexport.jobs.list_by_resource_group(world.resource_group))


def assert_converged(world):
    """Exactly one job; every drive verifies byte for byte; manifests match the job's drive list."""
    jobs = job_list(world)
    assert [j["name"] for j in jobs] == [world.job_name]
    listed = {d["driveId"]: d for d in jobs[0]["properties"]["driveList"]}
    assert sorted(listed) == sorted(world.serials)
    for serial in world.serials:
        mount = world.drive_path(serial)
        report = verify_drive(mount)
        assert report.ok, report.summary()
        assert listed[serial]["manifestHash"] == manifest_hash(mount / "DriveManifest.xml")
    staged = {p.relative_to(world.staging()).as_posix(): p.read_bytes()
              for p in world.staging().rglob("*") if p.is_file()}
    on_drives = {}
    for serial in world.serials:
        from seedctl.drives import read_manifest

        m = read_manifest(world.drive_path(serial) / "DriveManifest.xml")
        for blob in m.blobs:
            local = world.drive_path(serial) / blob.file_path.lstrip("\\").replace("\\", "/")
            on_drives[blob.blob_path.split("/", 1)[1]] = local.read_bytes()
    assert on_drives == staged


def test_apply_reaches_the_spec_and_a_second_apply_changes_nothing(world):
    first = world.cli("apply", "--auto-approve")
    assert first.code == 0, first.out + first.err
    assert "Apply complete: 7 added, 1 changed, 0 destroyed." in first.out
    assert_converged(world)
    second = world.cli("apply", "--auto-approve")
    assert second.code == 0
    assert "nothing to do" in second.out
    assert "No changes" in second.out


@pytest.mark.parametrize("api", ["importexport", "databox"])
def test_an_agent_staging_tree_becomes_page_blob_drives_and_a_second_plan_changes_nothing(tmp_path, sandbox, api):
    """The default blob type (issue 22): the agent's *.BaseBlob / *.AIBBlob files on drives whose
    manifests list page ranges, checked by an independent reader against staging and the drives."""
    world = make_world(tmp_path, sandbox, api=api, blob_type="page")
    first = world.cli("apply", "--auto-approve")
    assert first.code == 0, first.out + first.err
    for serial in world.serials:
        mount = world.drive_path(serial)
        assert verify_drive(mount).ok
        found = check_drive(mount, world.staging(), blob_type="page")
        assert found and all(problems == [] for problems in found.values()), found
    if api == "importexport":
        assert_converged(world)
    assert world.cli("plan", "--detailed-exitcode").code == 0


def test_apply_without_terminal_or_auto_approve_refuses(world):
    result = world.cli("apply")
    assert result.code == 1
    assert "--auto-approve" in result.err
    assert job_list(world) == []


def test_saved_plan_applies_when_fresh_and_is_refused_when_stale(world, tmp_path):
    plan_file = tmp_path / "plan.json"
    assert world.cli("plan", "--out", str(plan_file)).code == 0
    # the world changes behind the plan's back: someone creates the resource group
    world.clients().resource.resource_groups.create_or_update(world.resource_group, {"location": "westus"})
    stale = world.cli("apply", str(plan_file))
    assert stale.code == 1
    assert "stale" in stale.err and f'resource_group["{world.resource_group}"]' in stale.err
    assert job_list(world) == []
    # a fresh plan applies without a prompt
    assert world.cli("plan", "--out", str(plan_file)).code == 0
    applied = world.cli("apply", str(plan_file))
    assert applied.code == 0, applied.err
    assert_converged(world)


def test_saved_plan_is_refused_when_the_spec_changed(world, tmp_path):
    plan_file = tmp_path / "plan.json"
    assert world.cli("plan", "--out", str(plan_file)).code == 0
    world.edit_spec(lambda d: d["storage_account"].__setitem__("sku", "Standard_GRS"))
    result = world.cli("apply", str(plan_file))
    assert result.code == 1 and "the spec changed" in result.err


def test_not_a_plan_file_is_a_clear_error(world, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{\"hello\": 1}")
    result = world.cli("apply", str(bad))
    assert result.code == 1 and "not a seedctl saved plan" in result.err


def test_second_concurrent_apply_is_refused_naming_the_holder(world):
    from seedctl.lock import ApplyLock, lock_path_for

    with ApplyLock(lock_path_for(str(world.spec_path))):
        result = world.cli("apply", "--auto-approve", "--lock-timeout", "0.5")
    assert result.code == 1
    assert f"pid {os.getpid()}" in result.err and "another apply" in result.err
    # released: the next apply proceeds
    assert world.cli("apply", "--auto-approve").code == 0


def test_secrets_appear_in_no_apply_output(world):
    keys = [world.key(s) for s in world.serials]
    outputs = []
    for args in (["-v", "apply", "--auto-approve"], ["apply", "--auto-approve", "--json"],
                 ["-v", "plan", "--json"], ["plan", "--format", "markdown"]):
        r = world.cli(*args)
        outputs += [r.out, r.err]
    lock_dir = world.root / ".seedctl"
    for path in [*lock_dir.rglob("*"), *world.root.glob("drives/*/*")]:
        if path.is_file() and path.suffix != ".key":
            outputs.append(path.read_bytes().decode("utf-8", "replace"))
    for text in outputs:
        for key in keys:
            assert key not in text


def test_json_apply_prints_one_event_per_line(world):
    result = world.cli("apply", "--auto-approve", "--json")
    assert result.code == 0, result.err
    events = [json.loads(line) for line in result.out.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "plan" and kinds[-1] == "summary"
    assert events[-1]["added"] == 7 and events[-1]["failed"] == 0
    assert "node_done" in kinds and "drive_progress" in kinds


def test_failed_node_stops_only_its_descendants(world):
    # the vault cannot be created: everything else that does not depend on it still completes
    world.sandbox.control.inject_fault("500", method="PUT", path_regex=r"/vaults/", count=1000)
    try:
        result = world.cli("apply", "--auto-approve")
    finally:
        world.sandbox.control.clear_faults()
    assert result.code == 1
    assert f'vault["vault-{world.subscription_id[:8]}"]' in result.out
    assert f'import_job["{world.job_name}"]: skipped' in result.out
    assert "FAILED" in result.out
    plan = json.loads(world.cli("plan", "--json").out)
    actions = {c["kind"]: c["action"] for c in plan["changes"]}
    assert actions["container"] == "no-op" and actions["drive"] == "no-op"
    assert actions["vault"] == "create" and actions["import_job"] == "create"
    # and apply again finishes the job
    assert world.cli("apply", "--auto-approve").code == 0
    assert_converged(world)


@pytest.mark.reliability
def test_apply_converges_with_30_percent_of_arm_calls_failing(world):
    control = world.sandbox.control
    # a mix of throttling, server errors and dropped connections, 30 % of ARM calls in all
    control.inject_fault("429", rate=0.06, seed=1, retry_after=1, path_regex=r"^/subscriptions/")
    control.inject_fault("503", rate=0.15, seed=2, path_regex=r"^/subscriptions/")
    control.inject_fault("reset", rate=0.12, seed=3, path_regex=r"^/subscriptions/")
    control.clear_request_log()
    try:
        result = world.cli("apply", "--auto-approve")
        log = control.request_log()
        faults = control.faults()
    finally:
        control.clear_faults()
    assert result.code == 0, result.out[-2000:] + result.err
    fired = sum(f["fired"] for f in faults)
    print(f"ARM requests: {len(log)}, faults fired: {fired}")
    assert fired >= 5, faults
    assert len(log) < 400  # bounded: retries do not spin
    assert_converged(world)


# -- crash test -----------------------------------------------------------------------------------

def _started(kind):
    return lambda e: e["event"] == "node_start" and e["address"].startswith(kind)


def _mid_file(serial, low, high):
    def predicate(e):
        return (e["event"] == "drive_progress" and e.get("serial") == serial and e.get("bytes_total")
                and low <= e["bytes_done"] / e["bytes_total"] <= high and e.get("phase") == "copying")
    return predicate


def _drive_finishing(serial):
    return lambda e: (e["event"] == "drive_progress" and e.get("serial") == serial
                      and e.get("phase") in ("manifest", "done"))


def _any_drive_done(e):
    return e["event"] == "node_done" and e["address"].startswith("drive")


KILL_POINTS = {
    "provider-registration": lambda first, second: _started("provider"),
    "storage-account-operation": lambda first, second: _started("storage_account"),
    "container-creation": lambda first, second: _started("container"),
    "mid-file-drive-1-early": lambda first, second: _mid_file(first, 0.001, 0.7),
    "mid-file-drive-1-late": lambda first, second: _mid_file(first, 0.3, 0.999),
    "mid-file-drive-2": lambda first, second: _mid_file(second, 0.001, 0.999),
    "drive-2-writing-manifest": lambda first, second: _drive_finishing(second),
    "between-drive-completion-and-job": lambda first, second: _any_drive_done,
    "during-job-creation": lambda first, second: _started("import_job"),
    "during-shipment-update": lambda first, second: _started("shipment"),
}


PAGE_KILL_POINTS = ["mid-file-drive-1-early", "mid-file-drive-1-late", "mid-file-drive-2", "drive-2-writing-manifest"]


@pytest.fixture(scope="module")
def crash_files():
    rng = __import__("random").Random(11)
    files = {f"data/big-{i}.bin": rng.randbytes(64 * 1024 * 1024 + i) for i in range(3)}
    files.update({f"data/small/{i:03d}.dat": rng.randbytes(rng.randint(0, 200_000)) for i in range(40)})
    return files


@pytest.fixture(scope="module")
def page_crash_files():
    """The same shape as the agent's: sizes a multiple of 512, zero runs, one aligned to 4 MiB."""
    rng = __import__("random").Random(12)
    files = {}
    for i in range(3):
        data = bytearray(rng.randbytes(64 * 1024 * 1024 + 512 * i))
        data[8 << 20:12 << 20] = bytes(4 << 20)
        data[(20 << 20) + 1536:30 << 20] = bytes((10 << 20) - 1536)
        files[f"DS-{i}/volume.BaseBlob"] = bytes(data)
    files.update({f"DS-{i % 3}/inc-{i:03d}.AIBBlob": rng.randbytes(512 * rng.randint(0, 400)) for i in range(40)})
    return files


@pytest.mark.reliability
@pytest.mark.parametrize("point, blob_type", [(p, "block") for p in sorted(KILL_POINTS)]
                         + [(p, "page") for p in PAGE_KILL_POINTS])
def test_sigkill_at_any_point_then_apply_converges(point, blob_type, tmp_path, sandbox, crash_files,
                                                   page_crash_files):
    """SIGKILL an apply of a two-drive spec at one point of its run; a fresh apply converges:
    exactly one import job, both drives verify byte for byte, manifests match the job."""
    files = page_crash_files if blob_type == "page" else crash_files
    world = make_world(tmp_path, sandbox, files=files, capacity=256 * 1024 * 1024, shipment=True,
                       blob_type=blob_type)
    # a progress event at every step of the copy: a drive copied in a fraction of a second still
    # reports the points inside it that the kill waits for
    world.environ["SEEDCTL_PROGRESS_INTERVAL"] = "0"
    control = sandbox.control
    sub = world.subscription_id
    # Azure-side steps take a moment (as in Azure), so a kill lands while each is in flight; the
    # sandbox finishes a request whose client has died, exactly as Azure would.
    control.inject_fault("slow", method="PUT", path_regex=rf"{sub}.*/storageAccounts/", delay=1.0)
    control.inject_fault("slow", method="PUT", path_regex=rf"{sub}.*/containers/", delay=0.5)
    control.inject_fault("slow", method="PUT", path_regex=rf"{sub}.*/Microsoft\.ImportExport/jobs/", delay=1.0)
    control.inject_fault("slow", method="PATCH", path_regex=rf"{sub}.*/Microsoft\.ImportExport/jobs/", delay=1.0)
    first, second = world.serials
    try:
        killed = kill_when(world, KILL_POINTS[point](first, second))
        assert killed, f"apply finished before reaching {point}"
        # a second, arbitrary kill shortly into the resumed run
        kill_after(world, 0.4)
        final = world.cli("apply", "--auto-approve")
    finally:
        control.clear_faults()
    assert final.code == 0, final.out[-3000:] + final.err
    assert_converged(world)
    job = job_list(world)[0]
    assert job["properties"]["deliveryPackage"]["trackingNumber"] == world.spec_data["shipment"]["tracking_number"]
    assert world.cli("plan", "--detailed-exitcode").code == 0


def test_shipment_is_entered_after_the_drives_are_unplugged(world):
    """The real order: prepare, create the job, pack the drives, then get a tracking number."""
    import shutil

    assert world.cli("apply", "--auto-approve").code == 0
    for serial in world.serials:
        shutil.rmtree(world.drive_path(serial))  # in the box, on the way to the courier
    world.edit_spec(lambda d: d.__setitem__("shipment", {"carrier_name": "FedEx", "tracking_number": "TRK-1"}))
    plan = json.loads(world.cli("plan", "--json").out)
    drives = [c for c in plan["changes"] if c["kind"] == "drive"]
    assert all(c["action"] == "no-op" for c in drives), drives
    result = world.cli("apply", "--auto-approve")
    assert result.code == 0, result.out + result.err
    job = job_list(world)[0]
    assert job["properties"]["state"] == "Shipping"
    assert job["properties"]["deliveryPackage"]["trackingNumber"] == "TRK-1"


def test_ci_plan_without_local_state_reports_no_changes_once_applied(world):
    assert world.cli("apply", "--auto-approve").code == 0
    result = world.cli("plan", "--local-state", "skip", "--detailed-exitcode")
    assert result.code == 0, result.out


def test_saved_plan_names_its_spec_as_typed_and_f_overrides_it(world, tmp_path):
    assert world.cli("plan", "-f", "seed.yaml", "--out", "plan.json").code == 0
    saved = json.loads((world.root / "plan.json").read_text())
    assert saved["spec"]["path"] == "seed.yaml"
    data = {**world.spec_data, "storage_account": {**world.spec_data["storage_account"], "sku": "Standard_GRS"}}
    (world.root / "other.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    refused = world.cli("apply", "plan.json", "-f", "other.yaml")
    assert refused.code == 1 and "the spec changed" in refused.err
    applied = world.cli("apply", "plan.json")
    assert applied.code == 0, applied.err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "code", "created"), [("yes\n", 0, True), ("no\n", 1, False), ("", 1, False)])
def test_apply_asks_on_a_terminal_and_only_yes_approves(world, answer, code, created):
    from seedctl.cli import main
    from seedctl.env import Env

    out, err = io.StringIO(), io.StringIO()
    env = Env(stdout=out, stderr=err, stdin=_Terminal(answer), environ=world.environ, cwd=str(world.root))
    assert main(["apply"], env=env) == code
    assert "Only 'yes' will be accepted" in out.getvalue()
    assert bool(job_list(world)) is created
    if not created:
        assert "Apply cancelled." in out.getvalue()


@pytest.mark.parametrize("value", ["abc", "-1", "61", "nan", "inf"])
def test_a_bad_progress_interval_stops_the_apply_before_a_drive_is_touched(value, tmp_path, sandbox):
    world = make_world(tmp_path, sandbox, drives=1, files={"a.bin": b"x" * 512}, blob_type="block")
    world.environ["SEEDCTL_PROGRESS_INTERVAL"] = value
    result = world.cli("apply", "--auto-approve")
    assert result.code == 1, result.out + result.err
    text = result.out + result.err
    assert "SEEDCTL_PROGRESS_INTERVAL" in text and "number of seconds from 0 to 60" in text, text
    for serial in world.serials:
        assert not (world.drive_path(serial) / "seed").exists()


def test_progress_interval_from_the_environment() -> None:
    from seedctl.resources.drive import progress_interval

    assert progress_interval({}) is None and progress_interval({"SEEDCTL_PROGRESS_INTERVAL": " "}) is None
    assert progress_interval({"SEEDCTL_PROGRESS_INTERVAL": "0"}) == 0.0
    assert progress_interval({"SEEDCTL_PROGRESS_INTERVAL": "0.05"}) == 0.05
