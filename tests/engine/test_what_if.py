"""Issue 24, item 2: before a job exists, plan asks the service what it thinks of the order (Data Box
validateInputs and regionConfiguration; the classic datacenter location) and shows the verdicts;
a refusal is a plan error, so no drive is written for an order the service would refuse."""

from __future__ import annotations

import json
from typing import Any

from worlds import make_world


def job_change(world: Any) -> dict[str, Any]:
    plan = world.cli("plan", "--json")
    changes = {c["address"]: c for c in json.loads(plan.out)["changes"]}
    return changes[f'import_job["{world.job_name}"]']


def register(world: Any) -> None:
    import time

    clients = world.clients()
    clients.resource.providers.register("Microsoft.DataBox")
    deadline = time.monotonic() + 10
    while clients.resource.providers.get("Microsoft.DataBox").registration_state != "Registered":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def checks(change: dict[str, Any]) -> dict[str, Any]:
    return {c["check"]: c for c in change["summary"]["service_checks"]}


def test_data_box_verdicts_are_shown_and_undecided_until_the_provider_is_registered(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox, api="databox")
    before = job_change(world)
    assert before["action"] == "create"
    (only,) = before["summary"]["service_checks"]
    assert only["ok"] is None and "Microsoft.DataBox is not registered" in only["detail"]
    register(world)
    change = job_change(world)
    assert change["action"] == "create", change["errors"]
    verdicts = checks(change)
    for name in ("return address", "subscription", "SKU availability (DataBoxCustomerDisk, ImportToAzure)",
                 "order limit", "datacenter address", "return carrier"):
        assert verdicts[name]["ok"] is True, verdicts
    assert "Santa Clara" in verdicts["datacenter address"]["detail"]
    assert "storage account" not in verdicts  # created by this plan: not checkable yet
    text = world.cli("plan").out
    assert "service check, SKU availability (DataBoxCustomerDisk, ImportToAzure): ok" in text, text
    # once the job exists there is nothing to validate: the job itself is read
    assert world.cli("apply", "--auto-approve").code == 0
    assert "service_checks" not in job_change(world)["summary"]


def test_a_refused_order_is_a_plan_error_before_any_drive_is_written(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox, api="databox")
    register(world)
    sandbox.control.set_databox_order_limit(0)
    try:
        plan = world.cli("plan")
        assert plan.code == 1
        assert "the service refuses the order" in plan.out + plan.err and "order limit: Invalid" in plan.out + plan.err
        applied = world.cli("apply", "--auto-approve")
        assert applied.code == 1
        assert not any((world.drive_path(s) / "DriveManifest.xml").exists() for s in world.serials)
    finally:
        sandbox.control.set_databox_order_limit(50)


def test_a_country_outside_the_datacenters_reach_and_an_unsupported_return_carrier(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox, api="databox")
    register(world)
    world.edit_spec(lambda d: d["import_job"]["return_address"].__setitem__("country_or_region", "DE"))
    world.edit_spec(lambda d: d["import_job"]["return_shipping"].__setitem__("carrier_name", "DHL"))
    change = job_change(world)
    assert change["action"] == "error"
    errors = " ".join(change["errors"])
    assert "SKU availability" in errors and "'DE'" in errors
    assert "return carrier" in errors and "not DHL" in errors and "FedEx" in errors


def test_without_the_right_to_call_the_checks_they_are_undecided(tmp_path, sandbox):
    """A CI plan with Reader rights: validateInputs is a POST action Reader does not have."""
    world = make_world(tmp_path, sandbox, api="databox")
    register(world)
    sandbox.control.inject_fault("403", method="POST", path_regex=r"/validateInputs$")
    try:
        change = job_change(world)
    finally:
        sandbox.control.clear_faults()
    assert change["action"] == "create"
    (only,) = change["summary"]["service_checks"]
    assert only["ok"] is None and "not run" in only["detail"] and "permission denied" in only["detail"]


def test_the_classic_datacenter_and_its_carriers(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox)  # classic, westus: FedEx only
    verdicts = checks(job_change(world))
    assert verdicts["datacenter address"]["ok"] is True and verdicts["return carrier"]["ok"] is True
    world.edit_spec(lambda d: d["import_job"]["return_shipping"].__setitem__("carrier_name", "UPS"))
    change = job_change(world)
    assert change["action"] == "error" and "returns drives with FedEx, not UPS" in " ".join(change["errors"])
