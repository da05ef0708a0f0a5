"""Tolerant readers (issue 14, items 1, 2, 3, 6): what real Azure gives back — secrets left out,
equivalent spellings, either package field, every enum value — never shows as a change or a
failure. Every job here is read through the real SDK clients from a canned answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.canned import CannedAdapter
from conformance.examples import (
    DATABOX,
    IMPORTEXPORT,
    JOB_PATH,
    context,
    customer_disk,
    registered,
    response,
    spec_text,
)
from seedctl.graph import build_nodes
from seedctl.lifecycle.status import build_report, render_text
from seedctl.plan import ERROR, NOOP, UPDATE
from seedctl.resources.base import diff_attributes, same_fields
from seedctl.resources.jobs import base as phases
from seedctl.resources.jobs.databox import COPY_FAILURES, COPY_TO_DRIVE_STATE, STATUS_TO_PHASE
from seedctl.resources.jobs.importexport import STATE_TO_PHASE

ACCOUNT_ID = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Storage/" \
             "storageAccounts/seedstore"


def node(ctx: Any, kind: str) -> Any:
    return next(n for n in build_nodes(ctx.spec) if n.kind == kind)


def plan_of(ctx: Any, kind: str) -> Any:
    n = node(ctx, kind)
    observed = n.read(ctx)
    ctx.observations[n.address] = observed
    return n.diff(n.desired(ctx), observed), observed


def databox_job(status: str = "AwaitingShipmentDetails", *, account_number: str | None = None,
                **details: Any) -> dict[str, Any]:
    """A customer-disk job as seedctl creates it from `spec_text("databox")`."""
    job = customer_disk(response(DATABOX, "JobsGet.json"), carrier_account_number=account_number)
    job["properties"]["status"] = status
    d = job["properties"]["details"]
    d["contactDetails"] = {"contactName": "Test Admin", "phone": "+1 425 555 0100", "emailList": ["admin@example.com"]}
    d["shippingAddress"] = {"streetAddress1": "1 Test Way", "city": "Redmond", "stateOrProvince": "WA",
                            "postalCode": "98052", "country": "US", "addressType": "Commercial"}
    d["dataImportDetails"] = [{"accountDetails": {"dataAccountType": "StorageAccount", "storageAccountId": ACCOUNT_ID}}]
    d.update(details)
    return job


def canned(api: str, job: dict[str, Any]) -> CannedAdapter:
    adapter = CannedAdapter()
    registered(adapter)
    adapter.add("GET", JOB_PATH[api], job)
    return adapter


# -- item 1: a secret the GET leaves out is not a change ---------------------------------------
@pytest.mark.parametrize("status", ["AwaitingShipmentDetails", "DataCopy", "PreparingToShipFromAzureDC",
                                    "ShippedToCustomer"])
def test_an_unechoed_carrier_account_number_is_no_change(tmp_path: Path, status: str) -> None:
    ctx = context(canned("databox", databox_job(status)), spec_text("databox"), tmp_path)
    change, observed = plan_of(ctx, "import_job")
    assert observed["return_shipping"] == {"carrier_name": "FedEx"}
    assert observed["unobserved"] == {"return_shipping": ("carrier_account_number",)}
    assert change.action == NOOP, (change.errors, [(a.name, a.before, a.after) for a in change.attributes])


def test_what_is_echoed_is_still_compared(tmp_path: Path) -> None:
    # the account number when the service does give it back; the carrier name always
    ctx = context(canned("databox", databox_job(account_number="999")), spec_text("databox"), tmp_path)
    change, observed = plan_of(ctx, "import_job")
    assert observed["unobserved"] == {}
    assert change.action == UPDATE and [a.name for a in change.attributes] == ["return_shipping"]
    job = databox_job()
    job["properties"]["details"]["returnToCustomerPackageDetails"]["carrierName"] = "UPS"
    ctx = context(canned("databox", job), spec_text("databox"), tmp_path)
    assert plan_of(ctx, "import_job")[0].action == UPDATE


# -- item 2: equivalent values are equal ---------------------------------------------------------
def test_empty_street2_email_case_and_country_case_are_no_change(tmp_path: Path) -> None:
    job = databox_job()
    d = job["properties"]["details"]
    d["shippingAddress"]["streetAddress2"] = ""
    d["shippingAddress"]["country"] = "us"
    d["contactDetails"]["emailList"] = ["Admin@Example.COM"]
    ctx = context(canned("databox", job), spec_text("databox"), tmp_path)
    change, observed = plan_of(ctx, "import_job")
    assert observed["return_address"]["street2"] == "" and observed["return_address"]["email"] == "Admin@Example.COM"
    assert change.action == NOOP, [(a.name, a.before, a.after) for a in change.attributes]
    # and the other way round: the spec says "", the service leaves it out
    address = {"recipient": "Test Admin", "street1": "1 Test Way", "street2": "", "city": "Redmond",
               "state_or_province": "WA", "postal_code": "98052", "country_or_region": "US",
               "phone": "+1 425 555 0100", "email": "ADMIN@example.com"}
    ctx = context(canned("databox", databox_job()), spec_text("databox", address=address), tmp_path)
    assert plan_of(ctx, "import_job")[0].action == NOOP


def test_a_real_address_change_is_still_a_change() -> None:
    want = {"street1": "1 Test Way", "street2": "Suite 5", "email": "a@example.com"}
    assert not same_fields({"street1": "1 Test Way", "email": "a@example.com"}, want)
    assert not same_fields({**want, "street1": "2 Test Way"}, want)
    assert not same_fields({**want, "email": "b@example.com"}, want)
    assert same_fields({**want, "email": "A@EXAMPLE.com"}, want)


def test_location_by_display_name_is_no_change() -> None:
    assert diff_attributes({"location": "westus"}, {"location": "West US"}, None) == []
    assert diff_attributes({"location": "West US 2"}, {"location": "westus2"}, None) == []
    assert [a.name for a in diff_attributes({"location": "westus"}, {"location": "East US"}, None)] == ["location"]


def test_import_job_in_a_display_name_location_is_no_change(tmp_path: Path) -> None:
    job = response(IMPORTEXPORT, "GetJob.json")
    job["name"], job["location"] = "seed-job", "West US"
    job["tags"] = {"seedctl-spec": "conformance"}
    ctx = context(canned("importexport", job), spec_text("importexport"), tmp_path)
    change, observed = plan_of(ctx, "import_job")
    assert observed["location"] == "West US"
    assert not any(a.name == "location" for a in change.attributes) and not any("cannot move" in e for e in change.errors)


# -- item 3: either package field means the disks were marked shipped ------------------------------
@pytest.mark.parametrize("field", ["deliverToDcPackageDetails", "deliveryPackage"])
def test_shipment_is_seen_in_either_package_field(tmp_path: Path, field: str) -> None:
    package = {"carrierName": "FedEx", "trackingId": "1Z999"}
    if field == "deliveryPackage":
        package["trackingUrl"] = "https://example.com/track/1Z999"
    job = databox_job("ShippedToAzureDC")
    job["properties"]["details"].pop("deliveryPackage", None)
    job["properties"]["details"][field] = package
    text = spec_text("databox", shipment={"carrier_name": "FedEx", "tracking_number": "1Z999"})
    ctx = context(canned("databox", job), text, tmp_path)
    change, observed = plan_of(ctx, "shipment")
    assert observed["delivery_package"]["tracking_number"] == "1Z999"
    assert change.action == NOOP


def test_empty_package_fields_are_not_a_shipment(tmp_path: Path) -> None:
    # the official example carries deliveryPackage with empty strings before anything shipped
    job = databox_job()
    assert job["properties"]["details"]["deliveryPackage"]["trackingId"] == ""
    ctx = context(canned("databox", job), spec_text("databox", shipment={"carrier_name": "FedEx",
                                                                         "tracking_number": "1Z"}), tmp_path)
    change, observed = plan_of(ctx, "shipment")
    assert observed["delivery_package"] is None and change.action == "create"


# -- item 6: every enum value is mapped on purpose -------------------------------------------------
def test_every_data_box_stage_has_a_phase() -> None:
    from azure.mgmt.databox.models import StageName

    assert {s.value for s in StageName} == set(STATUS_TO_PHASE)
    assert set(STATUS_TO_PHASE.values()) <= set(phases.PHASES)


def test_every_data_box_copy_status_has_a_drive_state() -> None:
    from azure.mgmt.databox.models import CopyStatus

    assert {s.value for s in CopyStatus} == set(COPY_TO_DRIVE_STATE) - {None}
    assert set(COPY_TO_DRIVE_STATE.values()) <= set(phases.DRIVE_STATES)
    # a failure word is explained, and only failures are
    failed = {k for k, v in COPY_TO_DRIVE_STATE.items() if v == "CompletedMoreInfo"} - {"CompletedWithErrors"}
    assert failed == set(COPY_FAILURES)


def test_every_classic_drive_state_has_a_meaning() -> None:
    """Every value of the official description's `DriveState` enum (2016-11-01)."""
    import json

    description = json.loads((IMPORTEXPORT / "storageimportexport.json").read_text())
    states = description["definitions"]["DriveStatus"]["properties"]["state"]["enum"]
    assert set(states) == set(phases.DRIVE_STATES)


@pytest.mark.parametrize(("status", "phase"), [
    ("PickedUp", phases.SHIPPING), ("Dispatched", phases.CREATED), ("Delivered", phases.CREATED),
    ("pickedup", phases.SHIPPING), ("DATACOPY", phases.TRANSFERRING),
])
def test_stages_that_were_misread(tmp_path: Path, status: str, phase: str) -> None:
    ctx = context(canned("databox", databox_job(status)), spec_text("databox"), tmp_path)
    observed = node(ctx, "import_job").read(ctx)
    assert observed["phase"] == phase


def test_classic_states_of_the_documentation() -> None:
    assert STATE_TO_PHASE["Closed"] == phases.COMPLETED_WITH_ERRORS
    assert STATE_TO_PHASE["Faulted"] == phases.FAILED
    assert STATE_TO_PHASE["Canceled"] == phases.CANCELLED


def _status_for(tmp_path: Path, status: str, progress: list[dict[str, Any]]) -> str:
    ctx = context(canned("databox", databox_job(status, copyProgress=progress)), spec_text("databox"), tmp_path)
    job = node(ctx, "import_job").read(ctx)
    spec = ctx.spec
    return render_text(build_report(spec, job, ctx.env.now()))


def test_drive_not_detected_is_a_detection_error_not_never_received(tmp_path: Path) -> None:
    text = _status_for(tmp_path, "CompletedWithErrors", [
        {"serialNumber": "DISK-01", "copyStatus": "DriveNotDetected", "bytesProcessed": 0, "totalBytesToProcess": 0}])
    assert "never arrived" not in text
    assert "DriveNotDetected (the copy failed due to a disk detection error)" in text


def test_drive_not_received_is_never_received(tmp_path: Path) -> None:
    text = _status_for(tmp_path, "CompletedWithErrors", [
        {"serialNumber": "DISK-01", "copyStatus": "DriveNotReceived", "bytesProcessed": 0, "totalBytesToProcess": 0}])
    assert "never arrived at the datacenter (DriveNotReceived)" in text


def test_picked_up_is_on_its_way_not_a_failure(tmp_path: Path) -> None:
    job = databox_job("PickedUp", deliverToDcPackageDetails={"carrierName": "FedEx", "trackingId": "1Z"})
    ctx = context(canned("databox", job), spec_text("databox"), tmp_path)
    observed = node(ctx, "import_job").read(ctx)
    report = build_report(ctx.spec, observed, ctx.env.now())
    assert "failed" not in render_text(report) and "on their way (tracking 1Z)" in render_text(report)
    assert report.exit_code == 0


def test_copy_not_started_before_arrival_is_not_received(tmp_path: Path) -> None:
    ctx = context(canned("databox", databox_job("ShippedToAzureDC", copyProgress=[
        {"serialNumber": "DISK-01", "copyStatus": "NotStarted"}])), spec_text("databox"), tmp_path)
    assert node(ctx, "import_job").read(ctx)["drives"][0]["state"] == "Specified"


def test_a_failed_plan_never_follows_from_a_known_stage(tmp_path: Path) -> None:
    # the plan of a seedctl job is no change in every stage the enum has (no late exit 1)
    from azure.mgmt.databox.models import StageName

    for stage in StageName:
        ctx = context(canned("databox", databox_job(stage.value)), spec_text("databox"), tmp_path)
        change, _ = plan_of(ctx, "import_job")
        assert change.action in (NOOP, ERROR) and (change.action == NOOP or "cancelled" in change.errors[0]), \
            (stage.value, change.errors)


# POST actions a plan may call: they change nothing (the service's what-if and the datacenter
# address, issue 24); every other request of a refresh is a GET
READ_ONLY_ACTIONS = ("/regionConfiguration", "/validateInputs")


def test_the_plan_reads_no_secrets_and_writes_nothing(tmp_path: Path) -> None:
    # item 1: listCredentials (BitLocker keys, the carrier account number) is never part of a plan;
    # the refresh is GETs and the read-only actions only
    adapter = canned("databox", databox_job("DataCopy"))
    ctx = context(adapter, spec_text("databox", shipment={"carrier_name": "FedEx", "tracking_number": "1Z"}),
                  tmp_path)
    plan_of(ctx, "import_job")
    plan_of(ctx, "shipment")
    assert adapter.seen and {method for method, _ in adapter.seen} <= {"GET", "POST"}
    posts = [url.split("?")[0] for method, url in adapter.seen if method == "POST"]
    assert all(url.endswith(READ_ONLY_ACTIONS) for url in posts), posts
    assert not any("listCredentials" in url for _, url in adapter.seen)


def test_the_deadline_of_a_job_created_in_another_time_zone_is_in_utc(tmp_path: Path) -> None:
    # the official example's startTime is "2020-08-07T10:50:36.3341513+05:30" (05:20 UTC)
    job = databox_job("AwaitingShipmentDetails")
    job["tags"].pop("seedctl-created", None)
    ctx = context(canned("databox", job), spec_text("databox"), tmp_path)
    observed = node(ctx, "import_job").read(ctx)
    assert observed["created_at"] == "2020-08-07T10:50:36.3341513+05:30"
    text = render_text(build_report(ctx.spec, observed, ctx.env.now()))
    assert "tracking number due: 2020-08-21 05:20 UTC" in text, text


# -- issue 24, item 3: what the services rewrite ----------------------------------------------
def _applied_tag(tmp_path: Path, text: str) -> str:
    """The seedctl-applied tag seedctl sends with the job for `text`'s spec."""
    from seedctl.resources.base import APPLIED_TAG

    ctx = context(canned("databox", databox_job()), text, tmp_path)
    return node(ctx, "import_job").desired(ctx)["tags"][APPLIED_TAG]


def test_an_upper_cased_street_and_ups_spelled_ups_are_no_change(tmp_path: Path) -> None:
    job = databox_job()
    d = job["properties"]["details"]
    d["shippingAddress"]["streetAddress1"] = "1  TEST   WAY"  # JobsGetCopyStuck.json: "164 TOWNSEND ST"
    d["shippingAddress"]["addressType"] = "None"
    d["returnToCustomerPackageDetails"]["carrierName"] = "FEDEX"
    ctx = context(canned("databox", job), spec_text("databox"), tmp_path)
    change, _ = plan_of(ctx, "import_job")
    assert change.action == NOOP, [(a.name, a.before, a.after) for a in change.attributes]


def test_an_address_the_service_standardized_is_judged_by_what_seedctl_sent(tmp_path: Path) -> None:
    """A rewrite no rule predicts ("1 Test Way" stored as "1 TEST WY"): the job's seedctl-applied tag
    says seedctl sent exactly what the spec asks, so it is not a change; the plan notes it."""
    from seedctl.resources.base import APPLIED_TAG

    text = spec_text("databox")
    job = databox_job()
    job["properties"]["details"]["shippingAddress"]["streetAddress1"] = "1 TEST WY"
    job["tags"] = {**job.get("tags", {}), APPLIED_TAG: _applied_tag(tmp_path, text)}
    change, _ = plan_of(context(canned("databox", job), text, tmp_path), "import_job")
    assert change.action == NOOP
    assert any("return_address: the service stores what seedctl sent as street1 '1 TEST WY'" in n
               for n in change.notes), change.notes
    # the spec changes the address: a change again, whatever the service wrote
    moved = spec_text("databox", address={"recipient": "Test Admin", "street1": "2 Other Way", "city": "Redmond",
                                          "state_or_province": "WA", "postal_code": "98052",
                                          "country_or_region": "US", "phone": "+1 425 555 0100",
                                          "email": "admin@example.com"})
    change, _ = plan_of(context(canned("databox", job), moved, tmp_path), "import_job")
    assert change.action == UPDATE and [a.name for a in change.attributes] == ["return_address"]
    # without seedctl's record (a job made before this, or by hand): compared as it is
    del job["tags"][APPLIED_TAG]
    change, _ = plan_of(context(canned("databox", job), text, tmp_path), "import_job")
    assert change.action == UPDATE


def test_the_applied_tag_holds_no_secret(tmp_path: Path) -> None:
    from seedctl.resources.import_job import sent_digest

    tag = _applied_tag(tmp_path, spec_text("databox", account_number="123456789"))
    assert len(tag) <= 256 and "123456789" not in tag
    assert sent_digest({"carrier_name": "FedEx", "carrier_account_number": "1"}) == \
        sent_digest({"carrier_name": "FedEx", "carrier_account_number": "2"})


@pytest.mark.parametrize(("have", "want", "same"), [
    ("9/29/2017 10:28:35 PM", "2017-09-29", True),  # ListJobsInResourceGroup.json
    ("8/11/2017 9:05:00 PM", "2017-08-11", True), ("2017-08-11T21:05:00Z", "2017-08-11", True),
    ("9/29/2017 10:28:35 PM", "2017-09-30", False), ("not a date", "2017-09-29", False)])
def test_classic_ship_dates_compare_by_the_day(have: str, want: str, same: bool) -> None:
    from seedctl.resources.base import same_value

    assert same_value("ship_date", have, want) is same


def test_a_classic_shipment_in_the_services_words_is_no_change(tmp_path: Path) -> None:
    job = response(IMPORTEXPORT, "ListJobsInResourceGroup.json")["value"][0]
    package = job["properties"]["deliveryPackage"]  # FedEx, shipDate "9/29/2017 10:28:35 PM"
    text = spec_text("importexport", shipment={"carrier_name": "FedEx", "tracking_number": package["trackingNumber"],
                                               "ship_date": "2017-09-29",
                                               "drive_count": package["driveCount"]})
    adapter = CannedAdapter()
    registered(adapter)
    adapter.add("GET", JOB_PATH["importexport"], job)
    change, _ = plan_of(context(adapter, text, tmp_path), "shipment")
    assert change.action == NOOP, [(a.name, a.before, a.after) for a in change.attributes]


def test_an_edit_after_the_services_own_rewrite_is_drift(tmp_path: Path) -> None:
    """With what the service showed right after seedctl's apply recorded too ("<field>.seen"), an
    address edited outside seedctl later is a change again (drift), not hidden by the record."""
    import json

    from seedctl.resources.base import APPLIED_TAG
    from seedctl.resources.import_job import sent_digest

    text = spec_text("databox")
    job = databox_job()
    job["properties"]["details"]["shippingAddress"]["streetAddress1"] = "1 TEST WY"
    observed = context(canned("databox", job), text, tmp_path)
    have = node(observed, "import_job").read(observed)["return_address"]
    record = {**json.loads(_applied_tag(tmp_path, text)), "return_address.seen": sent_digest(have)}
    job["tags"] = {**job.get("tags", {}), APPLIED_TAG: json.dumps(record)}
    change, _ = plan_of(context(canned("databox", job), text, tmp_path), "import_job")
    assert change.action == NOOP, [(a.name, a.before, a.after) for a in change.attributes]
    job["properties"]["details"]["shippingAddress"]["streetAddress1"] = "9 OTHER RD"  # edited in the portal
    change, _ = plan_of(context(canned("databox", job), text, tmp_path), "import_job")
    assert change.action == UPDATE and [(a.name, a.drift) for a in change.attributes] == [("return_address", True)]


def test_apply_records_what_the_service_showed_when_it_rewrote_unpredictably(tmp_path: Path) -> None:
    import json

    from seedctl.resources.base import APPLIED_TAG

    text = spec_text("importexport")
    job = response(IMPORTEXPORT, "GetJob.json")
    job["tags"] = {}
    adapter = CannedAdapter()
    registered(adapter)
    adapter.add("GET", JOB_PATH["importexport"], job)
    adapter.add("PATCH", JOB_PATH["importexport"], job)
    ctx = context(adapter, text, tmp_path)
    ij = node(ctx, "import_job")
    desired = ij.desired(ctx)
    observed = ij.read(ctx)
    assert ij.record_seen(ctx, desired, observed) is True  # the example's address is not the spec's
    (patch,) = [body for (method, _), body in zip(adapter.seen, adapter.bodies, strict=True) if method == "PATCH"]
    sent = json.loads(patch)
    assert set(sent) == {"tags"}  # a tags-only update
    record = json.loads(sent["tags"][APPLIED_TAG])
    # what the service shows now is recorded beside what seedctl sent; never a secret
    assert set(record) == {"return_address", "return_shipping", "return_address.seen", "return_shipping.seen"}
    assert "123456789" not in patch.decode()
    same = dict(observed)
    same["return_address"], same["return_shipping"] = desired["return_address"], desired["return_shipping"]
    adapter.seen.clear()
    assert ij.record_seen(ctx, desired, same) is False and not adapter.seen  # nothing rewritten: no write


def test_a_changed_carrier_account_number_is_never_hidden_by_the_record(tmp_path: Path) -> None:
    """The record holds no secret, so a difference in the classic carrier account number (which
    the classic GET does give back) is a change whatever the record says."""
    import json

    from seedctl.resources.base import APPLIED_TAG
    from seedctl.resources.import_job import applied_job_tag

    text = spec_text("importexport")
    job = response(IMPORTEXPORT, "GetJob.json")
    adapter = CannedAdapter()
    registered(adapter)
    ctx = context(adapter, text, tmp_path)
    ij = node(ctx, "import_job")
    desired = ij.desired(ctx)
    p = job["properties"]
    p["storageAccountId"] = ACCOUNT_ID
    p["returnAddress"] = {"recipientName": "Test Admin", "streetAddress1": "1 Test Way", "city": "Redmond",
                          "stateOrProvince": "WA", "postalCode": "98052", "countryOrRegion": "US",
                          "phone": "+1 425 555 0100", "email": "admin@example.com"}
    p["returnShipping"] = {"carrierName": "FedEx", "carrierAccountNumber": "000000000"}  # not the spec's
    job["tags"] = {"seedctl-spec": "conformance", APPLIED_TAG: applied_job_tag(desired)}
    adapter.add("GET", JOB_PATH["importexport"], job)
    change, _ = plan_of(context(adapter, text, tmp_path), "import_job")
    assert change.action == UPDATE, change.errors
    assert "return_shipping" in [a.name for a in change.attributes], change.notes
    assert not any(n.startswith("return_shipping:") for n in change.notes)
    assert json.loads(job["tags"][APPLIED_TAG])["return_shipping"]  # the record matched: still a change
