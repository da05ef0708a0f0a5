"""Issue 24, item 5: the DATABOX_SERVICE lock a job puts on its storage account, and what it
refuses: ARM deletes under the locked scope fail as ARM fails them (409 ScopeLocked); the data
plane is not a management operation and is not refused; seedctl's destroy says so."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

LOCKS = "2016-09-01"


def lock_path(env) -> str:
    return f"{env.account_id}/providers/Microsoft.Authorization/locks/DATABOX_SERVICE"


def test_the_lock_refuses_arm_deletes_under_the_account_but_not_the_data_plane(dbx):
    dbx.create("locked")
    lock = dbx.http.get(dbx.url(lock_path(dbx), LOCKS))
    assert lock.status_code == 200 and lock.json()["properties"]["level"] == "CanNotDelete"
    # through ARM: the account, a container (a child of the account), the resource group
    dbx.clients.storage.blob_containers.create(dbx.rg, dbx.account, "seed", {})
    for call in (lambda: dbx.clients.storage.storage_accounts.delete(dbx.rg, dbx.account),
                 lambda: dbx.clients.storage.blob_containers.delete(dbx.rg, dbx.account, "seed"),
                 lambda: dbx.clients.resource.resource_groups.begin_delete(dbx.rg).result()):
        with pytest.raises(HttpResponseError) as err:
            call()
        assert err.value.status_code == 409 and err.value.error.code == "ScopeLocked"
        assert "cannot perform delete operation because following scope(s) are locked" in err.value.error.message
    # through the blob endpoint: not a management operation, so the lock does not apply
    service = dbx.clients.blob_service(dbx.account, dbx.rg)
    service.get_container_client("seed").delete_container()
    # the lock is the service's and stays after the job is cancelled and deleted
    dbx.databox.jobs.cancel(dbx.rg, "locked", {"reason": "test"})
    dbx.databox.jobs.begin_delete(dbx.rg, "locked").result()
    assert dbx.http.get(dbx.url(lock_path(dbx), LOCKS)).status_code == 200
    assert dbx.http.delete(dbx.url(lock_path(dbx), LOCKS)).status_code == 200
    dbx.clients.storage.storage_accounts.delete(dbx.rg, dbx.account)


def test_locks_at_every_scope_are_listed_and_a_group_lock_covers_its_resources(dbx):
    rg_lock = f"/subscriptions/{dbx.sub}/resourceGroups/{dbx.rg}/providers/Microsoft.Authorization/locks/keep"
    r = dbx.http.put(dbx.url(rg_lock, LOCKS), json={"properties": {"level": "CanNotDelete", "notes": "x"}})
    assert r.status_code == 201 and r.json()["id"] == rg_lock
    bad = dbx.http.put(dbx.url(rg_lock, LOCKS), json={"properties": {"level": "Sometimes"}})
    assert bad.status_code == 400
    listed = dbx.http.get(dbx.url(f"/subscriptions/{dbx.sub}/resourceGroups/{dbx.rg}/providers/"
                                  "Microsoft.Authorization/locks", LOCKS)).json()["value"]
    assert [lock["name"] for lock in listed] == ["keep"]
    with pytest.raises(HttpResponseError) as err:
        dbx.clients.storage.storage_accounts.delete(dbx.rg, dbx.account)
    assert err.value.error.code == "ScopeLocked" and f"/resourceGroups/{dbx.rg}/providers" in err.value.error.message
    assert dbx.http.delete(dbx.url(rg_lock, LOCKS)).status_code == 200
    assert dbx.http.get(dbx.url(rg_lock, LOCKS)).status_code == 404
