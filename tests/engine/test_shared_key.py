"""Issue 24, item 1 end to end on the sandbox: a subscription under the built-in Deny policy
"Storage accounts should prevent shared key access", and blob access that prefers Entra ID."""

from __future__ import annotations

from typing import Any

import pytest

from worlds import make_world


def ship_and_complete(world: Any, sandbox: Any) -> None:
    world.edit_spec(lambda d: d.__setitem__("shipment", {"carrier_name": "FedEx", "tracking_number": "TRK-SK"}))
    result = world.cli("apply", "--auto-approve")
    assert result.code == 0, result.out + result.err
    sandbox.control.advance_job(world.resource_group, world.job_name, "Completed", subscription=world.subscription_id)


def account_name(world: Any) -> str:
    return world.spec_data["storage_account"]["name"]


def test_a_deny_policy_names_the_field_and_the_import_works_without_shared_keys(tmp_path, sandbox):
    world = make_world(tmp_path, sandbox, api="databox")
    sandbox.control.assign_policy(world.subscription_id, "deny-shared-key", "Deny")
    denied = world.cli("apply", "--auto-approve")
    assert denied.code == 1
    text = denied.out + denied.err
    assert 'denied by Azure Policy "Storage accounts should prevent shared key access"' in text, text
    assert "storage_account.allow_shared_key_access: false" in text and "Contributor role" not in text

    world.edit_spec(lambda d: d["storage_account"].__setitem__("allow_shared_key_access", False))
    plan = world.cli("plan")
    assert "allow_shared_key_access" in plan.out and "shared key access is off" in plan.out, plan.out
    result = world.cli("apply", "--auto-approve")
    assert result.code == 0, result.out + result.err
    account = world.clients().storage.storage_accounts.get_properties(world.resource_group, account_name(world))
    assert account.allow_shared_key_access is False
    ship_and_complete(world, sandbox)
    # an account key would be refused (KeyBasedAuthenticationNotPermitted): verify and destroy get in
    # with Entra ID, which the sandbox's identity may use
    verify = world.cli("verify")
    assert verify.code == 0, verify.out + verify.err
    destroy = world.cli("destroy", "--auto-approve")
    assert destroy.code == 0, destroy.out + destroy.err
    # the container went through the blob endpoint, which the Data Box service's lock does not refuse;
    # the account is kept, and destroy says what stands in the way of deleting it later
    assert "DATABOX_SERVICE (CanNotDelete, set by the Data Box service)" in destroy.out, destroy.out


@pytest.mark.parametrize("shared_key", [True, False])
def test_without_a_data_role_the_key_is_the_fallback_only_where_allowed(tmp_path, sandbox, shared_key):
    world = make_world(tmp_path, sandbox, api="databox")
    world.edit_spec(lambda d: d["storage_account"].__setitem__("allow_shared_key_access", shared_key))
    assert world.cli("apply", "--auto-approve").code == 0
    ship_and_complete(world, sandbox)
    sandbox.control.set_data_role(account_name(world), False)
    try:
        verify = world.cli("verify")
    finally:
        sandbox.control.set_data_role(account_name(world), True)
    if shared_key:  # the identity has no data role, the account allows keys: the key is used
        assert verify.code == 0, verify.out + verify.err
    else:  # nothing to fall back to: the message names the role to grant
        assert verify.code == 1, verify.out + verify.err
        assert "AuthorizationPermissionMismatch" in verify.err and "Storage Blob Data" in verify.err, verify.err
