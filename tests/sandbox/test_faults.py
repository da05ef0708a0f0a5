"""Injected faults and the SDKs' own retry behaviour (sdk-spike.md §1)."""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import HttpResponseError, ServiceResponseError


def _count(log, method, fragment):
    return [s for m, p, s in log if m == method and p.endswith(fragment)]


def test_track2_retries_429_with_retry_after(sandbox, clients):
    clients.make_rg()
    sandbox.control.clear_request_log()
    sandbox.control.inject_fault("429", method="GET", path_regex="/resourcegroups/rg1$", count=2, retry_after=0)
    assert clients.rm.resource_groups.get("rg1").name == "rg1"
    assert _count(sandbox.control.request_log(), "GET", "/resourcegroups/rg1") == [429, 429, 200]


def test_track2_retries_503_then_gives_up_on_500(sandbox, clients):
    clients.make_rg()
    sandbox.control.inject_fault("503", method="GET", path_regex="/resourcegroups/rg1$", count=1)
    assert clients.rm.resource_groups.get("rg1").name == "rg1"
    sandbox.control.clear_faults()
    sandbox.control.clear_request_log()
    sandbox.control.inject_fault("500", method="GET", path_regex="/resourcegroups/rg1$")
    with pytest.raises(HttpResponseError) as err:
        clients.rm.resource_groups.get("rg1")
    assert err.value.status_code == 500 and err.value.error.code == "InternalServerError"
    assert _count(sandbox.control.request_log(), "GET", "/resourcegroups/rg1") == [500] * 4


def test_track2_post_429_without_retry_is_one_attempt(sandbox, clients):
    clients.make_rg()
    clients.make_account(clients.name("f"))
    sandbox.control.clear_request_log()
    sandbox.control.inject_fault("429", method="POST", path_regex="/listKeys$", count=1)  # no Retry-After
    with pytest.raises(HttpResponseError):
        clients.sm.storage_accounts.list_keys("rg1", clients.name("f"))
    assert len(_count(sandbox.control.request_log(), "POST", "/listKeys")) == 1


def test_connection_reset_is_retried(sandbox, clients):
    clients.make_rg()
    sandbox.control.inject_fault("reset", method="GET", path_regex="/resourcegroups/rg1$", count=1)
    assert clients.rm.resource_groups.get("rg1").name == "rg1"
    sandbox.control.inject_fault("reset", method="GET", path_regex="/resourcegroups/rg1$")
    with pytest.raises((ServiceResponseError, HttpResponseError)):
        clients.rm.resource_groups.get("rg1", retry_total=0)


def test_slow_response(sandbox, clients):
    clients.make_rg()
    sandbox.control.inject_fault("slow", path_regex="/resourcegroups/rg1$", count=1, delay=0.5)
    start = time.monotonic()
    clients.rm.resource_groups.get("rg1")
    assert time.monotonic() - start >= 0.5
    start = time.monotonic()
    clients.rm.resource_groups.get("rg1")
    assert time.monotonic() - start < 0.4


def test_rate_with_seed_is_repeatable(sandbox, clients):
    def pattern():
        sandbox.control.clear_faults()
        sandbox.control.inject_fault("500", path_regex="/resourcegroups/zz$", rate=0.5, seed=7)
        out = []
        for _ in range(12):
            r = clients.http.get(clients.url(f"/subscriptions/{clients.sub}/resourcegroups/zz", "2025-04-01"))
            out.append(r.status_code)
        return out

    first = pattern()
    assert first == pattern() and 500 in first and 404 in first


def test_rest_client_429_with_retry_after_is_retried(sandbox, clients):
    """seedctl's Import/Export REST client runs azure-core's retry policy like the generated clients."""
    sandbox.control.clear_request_log()
    sandbox.control.inject_fault("429", path_regex="/locations/westus$", count=2, retry_after=0)
    assert clients.ie.locations.get("westus")["name"] == "West US"
    assert _count(sandbox.control.request_log(), "GET", "/locations/westus") == [429, 429, 200]


def test_rest_client_error_keeps_the_service_body(sandbox, clients):
    clients.make_rg()
    clients.register("Microsoft.ImportExport")
    sandbox.control.inject_fault("503", method="POST", path_regex="/listBitLockerKeys$", retry_after=0)
    with pytest.raises(HttpResponseError) as err:
        clients.ie.jobs.list_bitlocker_keys("job", "rg1")
    assert err.value.status_code == 503 and err.value.error.code == "ServiceUnavailable"


def test_fault_rules_are_listed_and_cleared(sandbox):
    sandbox.control.inject_fault("503", count=3)
    assert [r["kind"] for r in sandbox.control.faults()] == ["503"]
    sandbox.control.clear_faults()
    assert sandbox.control.faults() == []
    from seedctl.errors import SandboxError

    with pytest.raises(SandboxError):
        sandbox.control.inject_fault("teapot")
