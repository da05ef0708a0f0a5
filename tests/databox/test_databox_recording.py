"""Issue 24, item 5: the service's recorded traffic, replayed against the sandbox.

The Azure CLI's recording of a DataBoxCustomerDisk job (recorded/README.md names the source:
repository, path, commit): its create request body is sent to the sandbox as it was sent to Azure,
and the sandbox's answers to the create, the operation polls, the GET, the cancel and the delete must
match the recorded ones in status and shape (the JSON paths and their types; values such as times,
ids and names differ). The PATCH and list answers are compared with the CLI's DataBox-SKU recording
(the customer-disk recording has neither), on what the two SKUs share.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from databox_helpers import make_env

RECORDED = Path(__file__).parent / "recorded"
RECORDED_SUB = "00000000-0000-0000-0000-000000000000"
RECORDED_RG = "cli_test_databox000001"
RECORDED_ACCOUNT = "clitest000002"
API = "2025-02-01"  # what the Azure CLI sent


def interactions() -> list[dict[str, Any]]:
    return yaml.safe_load((RECORDED / "test_databox_custom_disk.2025-05-26.yaml").read_text())["interactions"]


def recorded(method: str, path_end: str, nth: int = 0) -> dict[str, Any]:
    found = [i for i in interactions()
             if i["request"]["method"] == method and urlsplit(i["request"]["uri"]).path.endswith(path_end)]
    return found[nth]


def body_of(interaction: dict[str, Any]) -> Any:
    text = interaction["response"]["body"]["string"]
    return json.loads(text) if text else None


def headers_of(interaction: dict[str, Any]) -> set[str]:
    return {k.lower() for k in interaction["response"]["headers"]}


def shape(value: Any, prefix: str = "") -> set[str]:
    """Every JSON path with the type of its value: {"a.b": str, "a.c[]": ...}."""
    if isinstance(value, dict):
        out = {f"{prefix}:object"} if prefix else set()
        for key, item in value.items():
            out |= shape(item, f"{prefix}.{key}" if prefix else key)
        return out
    if isinstance(value, list):
        out = {f"{prefix}:array"}
        for item in value:
            out |= shape(item, prefix + "[]")
        return out
    kind = "bool" if isinstance(value, bool) else "number" if isinstance(value, (int, float)) else \
        "null" if value is None else "string"
    return {f"{prefix}:{kind}"}


# a disk's serial is a key of the collection, so its name is part of a path
DISK = "importDiskDetailsCollection.CLISERIAL789"


@pytest.fixture
def env(sandbox):
    sandbox.control.clear_faults()
    e = make_env(sandbox)
    yield e
    e.http.close()


def replay_body(env) -> dict[str, Any]:
    """The recorded create body, with the sandbox's subscription, group and account put in."""
    text = recorded("PUT", "/jobs/job000003")["request"]["body"]
    return json.loads(text.replace(RECORDED_SUB, env.sub).replace(RECORDED_RG, env.rg)
                      .replace(RECORDED_ACCOUNT, env.account))


def follow(env, location: str, *, until_status: int) -> list[Any]:
    """Poll a Location as the recorded client did; the answers, the last one of `until_status`."""
    answers = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r = env.http.get(location)
        answers.append(r)
        if r.status_code != 202 or urlsplit(r.headers.get("Location", location)).path != urlsplit(location).path:
            break
        time.sleep(0.05)
    assert answers[-1].status_code == until_status, [(a.status_code, dict(a.headers)) for a in answers]
    return answers


def test_the_recorded_create_is_accepted_and_answered_as_recorded(env):
    rec_put = recorded("PUT", "/jobs/job000003")
    r = env.http.put(env.url(env.job_path("job000003"), API), json=replay_body(env))
    # 202, a Location to poll, no body and no Azure-AsyncOperation: as recorded
    assert r.status_code == rec_put["response"]["status"]["code"] == 202, r.text
    assert "location" in headers_of(rec_put) and "azure-asyncoperation" not in headers_of(rec_put)
    assert "Location" in r.headers and "Azure-AsyncOperation" not in r.headers and r.content == b""
    recorded_poll = urlsplit(rec_put["response"]["headers"]["location"][0]).path
    assert recorded_poll.startswith(f"/subscriptions/{RECORDED_SUB}/providers/Microsoft.DataBox/locations/westus/"
                                    "operationResults/")
    assert urlsplit(r.headers["Location"]).path.startswith(
        f"/subscriptions/{env.sub}/providers/Microsoft.DataBox/locations/westus/operationResults/")
    # the polls: 202, then 202 with Location = the job (the recording's 4th interaction)
    polls = follow(env, r.headers["Location"], until_status=202)
    final = urlsplit(polls[-1].headers["Location"])
    assert final.path == env.job_path("job000003") and f"api-version={API}" in final.query
    rec_final = recorded("GET", "/operationResults/db34a10d-2675-4c33-826e-8904504b87c3", nth=1)
    assert urlsplit(rec_final["response"]["headers"]["location"][0]).path.endswith("/jobs/job000003")

    # the GET (no $expand): status and shape as recorded
    rec_get = recorded("GET", "/jobs/job000003")
    got = env.http.get(env.url(env.job_path("job000003"), API))
    assert got.status_code == rec_get["response"]["status"]["code"] == 200
    want, have = shape(body_of(rec_get)), shape(got.json())
    assert have == want, {"missing": sorted(want - have), "extra": sorted(have - want)}
    job = got.json()
    assert job["properties"]["status"] == body_of(rec_get)["properties"]["status"] == "AwaitingShipmentDetails"
    assert job["properties"]["details"]["importDiskDetailsCollection"]["CLISERIAL789"] == {
        "manifestFile": "SampleManifest.xml", "manifestHash": "xxxx"}  # accepted as the service did
    assert "carrierAccountNumber" not in json.dumps(job) and "bitLockerKey" not in json.dumps(job)
    assert job["sku"] == body_of(rec_get)["sku"] == {"name": "DataBoxCustomerDisk", "model": "DataBoxCustomerDisk"}


def test_cancel_delete_and_the_service_lock_as_recorded(env):
    r = env.http.put(env.url(env.job_path("job000003"), API), json=replay_body(env))
    follow(env, r.headers["Location"], until_status=202)

    rec_cancel = recorded("POST", "/jobs/job000003/cancel")
    assert json.loads(rec_cancel["request"]["body"]) == {"reason": "CancelTest"}
    c = env.http.post(env.url(env.job_path("job000003") + "/cancel", API), json={"reason": "CancelTest"})
    assert c.status_code == rec_cancel["response"]["status"]["code"] == 204
    assert c.content == b"" and not {"Location", "Azure-AsyncOperation"} & set(c.headers)
    after = env.http.get(env.url(env.job_path("job000003"), API)).json()["properties"]
    # the DataBox-SKU recording's GET after cancel (the customer-disk recording has none)
    excerpt = json.loads((RECORDED / "test_databox.2025-05-26.EXCERPT.json").read_text())["get_after_cancel_diff"]
    for key in ("isCancellable", "isDeletable", "isShippingAddressEditable", "status", "cancellationReason",
                "isCancellableWithoutFee"):
        assert after[key] == excerpt[key], key

    rec_delete = recorded("DELETE", "/jobs/job000003")
    d = env.http.delete(env.url(env.job_path("job000003"), API))
    assert d.status_code == rec_delete["response"]["status"]["code"] == 202
    assert "Location" in d.headers and "Azure-AsyncOperation" not in d.headers
    assert "/operationResults/" in d.headers["Location"]
    rec_done = [i for i in interactions() if i["response"]["status"]["code"] == 204
                and "/operationResults/" in i["request"]["uri"]]
    assert rec_done  # the recorded delete poll ended with 204
    follow(env, d.headers["Location"], until_status=204)
    assert env.http.get(env.url(env.job_path("job000003"), API)).status_code == 404

    # the service's lock on the storage account outlived the job, in the recorded shape
    rec_locks = body_of(recorded("GET", "/providers/Microsoft.Authorization/locks"))
    rec_lock = next(lock for lock in rec_locks["value"] if lock["id"].lower().startswith(
        f"/subscriptions/{RECORDED_SUB}/resourcegroups/{RECORDED_RG}/providers/microsoft.storage/storageaccounts/"
        f"{RECORDED_ACCOUNT}/".lower()))
    locks = env.http.get(env.url(f"/subscriptions/{env.sub}/providers/Microsoft.Authorization/locks",
                                 "2016-09-01")).json()["value"]
    (lock,) = [lock for lock in locks if lock["id"].lower().startswith(env.account_id.lower() + "/")]
    assert shape(lock) == shape(rec_lock)
    assert (lock["name"], lock["properties"]) == (rec_lock["name"], rec_lock["properties"]) == (
        "DATABOX_SERVICE", {"level": "CanNotDelete", "notes": "Data Box Service to copy data from device to "
                                                              "storage account."})
    # and the account cannot be deleted until the lock is (the CLI's test deletes the lock first)
    blocked = env.http.delete(env.url(env.account_id, "2025-06-01"))
    assert blocked.status_code == 409 and blocked.json()["error"]["code"] == "ScopeLocked"
    rec_unlock = recorded("DELETE", "/locks/DATABOX_SERVICE")
    unlock = env.http.delete(env.url(lock["id"], "2016-09-01"))
    assert unlock.status_code in (200, rec_unlock["response"]["status"]["code"])  # 2023: 200, 2025: 204
    assert env.http.delete(env.url(env.account_id, "2025-06-01")).status_code in (200, 204)


def test_patch_and_list_as_recorded_for_the_databox_sku(env, sandbox):
    excerpt = json.loads((RECORDED / "test_databox.2025-05-26.EXCERPT.json").read_text())
    r = env.http.put(env.url(env.job_path("job000004"), API), json=replay_body(env))
    follow(env, r.headers["Location"], until_status=202)
    before = env.http.get(env.url(env.job_path("job000004"), API)).json()

    patch = excerpt["patch"]
    p = env.http.patch(env.url(env.job_path("job000004"), API), json=patch["request"]["body"])
    assert p.status_code == patch["response"]["status"] == 202 and "Location" in p.headers
    assert "Azure-AsyncOperation" not in p.headers and p.content == b""
    polls = follow(env, p.headers["Location"], until_status=202)
    assert urlsplit(polls[-1].headers["Location"]).path == env.job_path("job000004")
    after = env.http.get(env.url(env.job_path("job000004"), API))
    assert after.status_code == 200
    contact = after.json()["properties"]["details"]["contactDetails"]
    assert (contact["contactName"], contact["phone"]) == ("Public SDK Test 1", "14258828081")
    assert after.json()["systemData"]["lastModifiedAt"] != before["systemData"]["lastModifiedAt"]

    listed = env.http.get(env.url(f"/subscriptions/{env.sub}/resourceGroups/{env.rg}/providers/Microsoft.DataBox/jobs",
                                  API))
    want = excerpt["list_by_resource_group"]
    assert listed.status_code == want["response"]["status"] == 200
    assert set(listed.json()) == set(want["response"]["body"]) == {"value"}  # one page, no nextLink
    (item,) = listed.json()["value"]
    (rec_item,) = want["response"]["body"]["value"]
    assert set(item) == set(rec_item) and set(item["properties"]) == set(rec_item["properties"])
    # the details: everything the recorded list item has, and besides it only what a customer-disk
    # job's details have (the recorded customer-disk GET)
    rec_disk_details = body_of(recorded("GET", "/jobs/job000003"))["properties"]["details"]
    assert set(rec_item["properties"]["details"]) <= set(item["properties"]["details"])
    assert set(item["properties"]["details"]) <= set(rec_item["properties"]["details"]) | set(rec_disk_details)
    for key in ("deliveryPackage", "returnPackage", "deviceErasureDetails", "reverseShippingDetails"):
        assert item["properties"]["details"][key] == rec_item["properties"]["details"][key], key
    assert set(item["properties"]["details"]["jobStages"][0]) >= {"stageName", "stageStatus"}
