"""status: deadlines with a pinned clock (pure and against the sandbox), next steps, exit codes,
--watch."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from seedctl.commands.status import watch
from seedctl.lifecycle import LifecycleExit
from seedctl.lifecycle.status import build_report, render_text

CREATED = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)


def job(phase: str = "created", state: str = "Creating", package: Any = None, **extra: Any) -> dict[str, Any]:
    return {"api": "importexport", "name": "seed-job", "location": "West US", "state": state, "phase": phase,
            "created_at": CREATED.isoformat(), "delivery_package": package, "return_package": None,
            "shipping_address": {"recipient_name": "Azure DC", "city": "Santa Clara"}, "percent_complete": 0,
            "incomplete_blob_list_uri": None,
            "drives": extra.pop("drives", [{"drive_id": "D1", "state": "Specified", "copy_status": None,
                                            "percent_complete": None, "bytes_succeeded": None}]), **extra}


def spec(shipment: bool = False) -> Any:
    return SimpleNamespace(import_job=SimpleNamespace(name="seed-job"), shipment=object() if shipment else None)


@pytest.mark.parametrize(("elapsed", "code", "words"), [
    (timedelta(days=1), LifecycleExit.OK, "13 days left"),
    (timedelta(days=10), LifecycleExit.OK, "4 days left"),
    (timedelta(days=11), LifecycleExit.ATTENTION, "DEADLINE IN 3 DAYS (3 days left"),
    (timedelta(days=13, hours=2), LifecycleExit.ATTENTION, "DEADLINE IN 22 HOURS (0 days left"),
    (timedelta(days=15), LifecycleExit.CRITICAL, "DEADLINE PASSED 1 day ago"),
])
def test_shipping_deadline_counts_down_from_creation(elapsed: timedelta, code: int, words: str) -> None:
    report = build_report(spec(), job(), CREATED + elapsed)
    assert report.exit_code == code
    text = render_text(report)
    assert words in text
    assert "2026-03-15 09:30 UTC" in text  # two weeks after creation
    assert report.to_json()["deadline"]["passed"] is (elapsed > timedelta(days=14))


def test_no_deadline_warning_once_the_tracking_number_is_in() -> None:
    package = {"carrier_name": "FedEx", "tracking_number": "1Z", "ship_date": None, "drive_count": 1}
    report = build_report(spec(), job("shipping", "Shipping", package), CREATED + timedelta(days=20))
    assert report.exit_code == LifecycleExit.OK and report.deadline is None
    assert "on their way (tracking 1Z)" in render_text(report)


def test_parcel_lost_in_transit_needs_attention() -> None:
    package = {"carrier_name": "FedEx", "tracking_number": "1Z", "ship_date": "2026-03-02", "drive_count": 1}
    report = build_report(spec(), job("shipping", "Shipping", package), CREATED + timedelta(days=20))
    assert report.exit_code == LifecycleExit.ATTENTION
    assert "has not received them" in render_text(report)


def test_next_step_mentions_the_spec_shipment_block() -> None:
    assert "enter the shipment already in the spec" in render_text(build_report(spec(True), job(), CREATED))
    assert "add a `shipment:` block" in render_text(build_report(spec(False), job(), CREATED))


@pytest.mark.parametrize(("phase", "state", "code", "words"), [
    ("transferring", "Transferring", LifecycleExit.OK, "copying the data"),
    ("completed", "Completed", LifecycleExit.OK, "run `seedctl verify`"),
    ("completed-with-errors", "Closed", LifecycleExit.ATTENTION, "seedctl repair"),
    ("failed", "Faulted", LifecycleExit.CRITICAL, "the job failed"),
])
def test_phases_and_exit_codes(phase: str, state: str, code: int, words: str) -> None:
    report = build_report(spec(), job(phase, state), CREATED + timedelta(days=30))
    assert report.exit_code == code and words in render_text(report)


def test_a_failed_drive_is_named() -> None:
    drives = [{"drive_id": "D1", "state": "CompletedMoreInfo", "copy_status": "BitLockerKeyInvalid",
               "percent_complete": 0, "bytes_succeeded": 0}]
    report = build_report(spec(), job("completed", "Completed", drives=drives), CREATED)
    assert report.exit_code == LifecycleExit.ATTENTION
    assert "drive D1 failed: BitLockerKeyInvalid" in render_text(report)


def test_a_failed_data_box_disk_is_named_by_its_error_code() -> None:
    # Data Box reports a coarse copy status; the classic reason is in the disk's error code
    drives = [{"drive_id": "D1", "state": "CompletedMoreInfo", "copy_status": "Failed",
               "failure_code": "BitLockerKeyInvalid", "percent_complete": 0, "bytes_succeeded": 0}]
    report = build_report(spec(), job("completed-with-errors", "CompletedWithErrors", drives=drives, api="databox"),
                          CREATED)
    assert "drive D1 failed: BitLockerKeyInvalid (the BitLocker key in the job does not unlock" in render_text(report)


def test_missing_job_asks_for_apply() -> None:
    report = build_report(spec(), None, CREATED)
    assert report.exit_code == LifecycleExit.ATTENTION and "seedctl apply" in render_text(report)


def test_watch_refreshes_until_final() -> None:
    phases = iter([("shipping", "Shipping"), ("transferring", "Transferring"), ("completed", "Completed")])
    shown, slept = [], []

    def fetch() -> Any:
        phase, state = next(phases)
        return build_report(spec(), job(phase, state), CREATED)

    last = watch(fetch, shown.append, interval=7, sleep=slept.append)
    assert [r.job["state"] for r in shown] == ["Shipping", "Transferring", "Completed"]
    assert slept == [7, 7] and last.final


def test_status_on_the_sandbox_with_a_pinned_clock(workspace: Any) -> None:
    assert workspace.run("apply", "--auto-approve").rc == 0
    created = json.loads(workspace.run("status", "--json").out)["job"]["created_at"]
    at = datetime.fromisoformat(created) + timedelta(days=11, hours=1)
    r = workspace.run("status", clock=lambda: at)
    assert r.rc == LifecycleExit.ATTENTION, r.out + r.err
    assert "DEADLINE IN 2 DAYS 23 HOURS (2 days left" in r.out
    r = workspace.run("status", "--json", clock=lambda: at + timedelta(days=3))
    data = json.loads(r.out)
    assert r.rc == LifecycleExit.CRITICAL and data["deadline"]["days_left"] == -1 and data["deadline"]["passed"]
    assert data["job"]["drives"][0]["state"] == "Specified"
    assert "key" not in r.out.lower() or "bitlocker" not in r.out.lower()


def test_a_successful_data_box_copy_log_is_not_called_an_error_log() -> None:
    drives = [{"drive_id": "D1", "state": "Completed", "copy_status": "Completed", "percent_complete": 100,
               "bytes_succeeded": 10, "error_log_uri": "https://sa.blob/databoxcopylog/job_D1_CopyLog_x.xml"},
              {"drive_id": "D2", "state": "CompletedMoreInfo", "copy_status": "CompletedWithErrors",
               "percent_complete": 100, "bytes_succeeded": 5, "error_log_uri": "https://sa.blob/databoxcopylog/D2.xml"}]
    text = render_text(build_report(spec(), job("completed", "Completed", api="databox", drives=drives), CREATED))
    assert "copy log (no errors): https://sa.blob/databoxcopylog/job_D1_CopyLog_x.xml" in text
    assert "error log: https://sa.blob/databoxcopylog/D2.xml" in text
    classic = render_text(build_report(spec(), job("completed", "Completed", drives=drives[:1]), CREATED))
    assert "error log: https://sa.blob" in classic  # a classic job links an error log only when there are errors


def test_the_datacenter_address_reads_as_on_a_label() -> None:
    address = {"recipient_name": "Microsoft Azure Import/Export Service", "street_address1": "2045 Lafayette Street",
               "city": "Santa Clara", "state_or_province": "CA", "postal_code": "95050", "country_or_region": "USA",
               "phone": "408 352 7600"}
    text = render_text(build_report(spec(), job(shipping_address=address), CREATED + timedelta(days=1)))
    assert "  ship to:  Microsoft Azure Import/Export Service\n            2045 Lafayette Street\n" \
           "            Santa Clara, CA 95050\n            USA\n            Phone: 408 352 7600\n" in text
