"""Issue 24, items 1, 4 and 8: every refusal Azure names gets its own message, read through the real
SDK clients from the answers the service gives (recorded bodies; sources beside each one).

Each answer goes through the client's own error handling (azure-mgmt's ARMErrorFormat, the storage
SDK's `error_code`) and then seedctl's `call_with_retry`, as in a real run."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.core.pipeline.transport import RequestsTransport

from conformance.canned import SUB, CannedAdapter, CannedClients
from seedctl.azure.credentials import StaticTokenCredential
from seedctl.azure.retry import RetryPolicy, call_with_retry
from seedctl.errors import AzureError

ACCOUNT = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/seedstore"
POLICY_DEF = "/providers/Microsoft.Authorization/policyDefinitions/8c6a50c6-9ffd-4ae7-986f-5fa6111f9a54"
# The shape of a real 403 (a third-party capture of a shared-key Deny, see
# /work/notes/research/issue24/third-party/), with the built-in policy of azure-policy
# built-in-policies/policyDefinitions/Storage/StorageAccountAllowSharedKeyAccess_Audit.json (v2.0.0).
POLICY_DENIAL = {"error": {
    "code": "RequestDisallowedByPolicy", "target": "seedstore",
    "message": "Resource 'seedstore' was disallowed by policy. Policy identifiers: '[{\"policyAssignment\":{\"name\":"
               "\"Deny shared key\",\"id\":\"/subscriptions/" + SUB + "/providers/Microsoft.Authorization/"
               "policyAssignments/deny-shared-key\"},\"policyDefinition\":{\"name\":\"Storage accounts should "
               "prevent shared key access\",\"id\":\"" + POLICY_DEF + "\",\"version\":\"2.0.0\"}}]'.",
    "additionalInfo": [{"type": "PolicyViolation", "info": {
        "evaluationDetails": {"evaluatedExpressions": [
            {"result": "True", "expressionKind": "Field", "expression": "type", "path": "type",
             "expressionValue": "Microsoft.Storage/storageAccounts", "targetValue": "Microsoft.Storage/storageAccounts",
             "operator": "Equals"},
            {"result": "True", "expressionKind": "Field",
             "expression": "Microsoft.Storage/storageAccounts/allowSharedKeyAccess",
             "path": "properties.allowSharedKeyAccess", "expressionValue": "******", "targetValue": "false",
             "operator": "Exists"}]},
        "policyDefinitionId": POLICY_DEF, "policyDefinitionName": "8c6a50c6-9ffd-4ae7-986f-5fa6111f9a54",
        "policyDefinitionDisplayName": "Storage accounts should prevent shared key access",
        "policyDefinitionVersion": "2.0.0", "policyDefinitionEffect": "deny",
        "policyAssignmentId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/policyAssignments/deny-shared-key",
        "policyAssignmentName": "deny-shared-key", "policyAssignmentDisplayName": "Deny shared key",
        "policyAssignmentScope": f"/subscriptions/{SUB}", "policyAssignmentParameters": {},
        "policyExemptionIds": [], "policyEnrollmentIds": []}}]}}

CREATE_BODY = {"sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "location": "westus"}


def _fail(fn: Any, what: str) -> str:
    with pytest.raises(AzureError) as info:
        call_with_retry(fn, what, RetryPolicy.fast(), sleep=lambda s: None)
    return str(info.value)


def _arm(method: str, path: str, status: int, body: Any, **headers: str) -> CannedClients:
    adapter = CannedAdapter()
    adapter.add(method, path, body, status=status, **headers)
    return CannedClients(adapter)


# -- Azure Policy ---------------------------------------------------------------------------------
def test_a_policy_denial_names_the_policy_and_the_spec_field_that_fixes_it() -> None:
    clients = _arm("PUT", r".*/storageAccounts/seedstore", 403, POLICY_DENIAL)
    text = _fail(lambda: clients.storage.storage_accounts.begin_create("rg", "seedstore", CREATE_BODY).result(),
                 "create storage account seedstore")
    assert "denied by Azure Policy \"Storage accounts should prevent shared key access\"" in text
    assert "assignment \"Deny shared key\"" in text and "properties.allowSharedKeyAccess" in text
    assert "storage_account.allow_shared_key_access: false" in text
    assert "Contributor" not in text  # the old, wrong advice


def test_a_policy_denial_without_additional_info_names_the_policy_from_the_message() -> None:
    body = json.loads(json.dumps(POLICY_DENIAL))
    del body["error"]["additionalInfo"]
    clients = _arm("PUT", r".*/storageAccounts/seedstore", 403, body)
    text = _fail(lambda: clients.storage.storage_accounts.begin_create("rg", "seedstore", CREATE_BODY).result(),
                 "create storage account seedstore")
    assert "\"Storage accounts should prevent shared key access\"" in text and "exemption" in text


# -- the blob service's refusals (XML bodies and x-ms-error-code, as the service sends them) -------
def _blob_refusal(code: str, message: str) -> Any:
    from azure.storage.blob import BlobServiceClient

    adapter = CannedAdapter()
    xml = (f'\ufeff<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{message}\n'
           "RequestId:00000000-0000-0000-0000-000000000000\nTime:2025-01-01T00:00:00.0000000Z</Message></Error>")
    adapter.add("GET", r"/seed", xml.encode("utf-8"), status=403, **{"x-ms-error-code": code})
    clients = CannedClients(adapter)
    service = BlobServiceClient("https://seedstore.blob.canned.test", credential=StaticTokenCredential("canned"),
                                transport=RequestsTransport(session=clients.session, session_owner=False),
                                retry_total=0)
    return service.get_container_client("seed")


@pytest.mark.parametrize(("code", "message", "what", "expected"), [
    # Azure/AI-Landing-Zones#64 (XML, 403) and the shared-key-authorization-prevent page
    ("KeyBasedAuthenticationNotPermitted", "Key based authentication is not permitted on this storage account.",
     "read container seed", ["does not allow shared key access", "allow_shared_key_access: false",
                             "Storage Blob Data Reader"]),
    # Azure/azure-sdk-for-python#27626, Azure/azure-sdk-for-js#7009
    ("AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this "
     "permission.", "delete blob seed/x", ["no data access", "Storage Blob Data Contributor"]),
    ("AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this "
     "permission.", "read container seed", ["Storage Blob Data Reader"]),
    # microsoft/AzureStorageExplorer#9006 (a storage firewall)
    ("AuthorizationFailure", "This request is not authorized to perform this operation.", "read container seed",
     ["network rules refused this computer", "firewall", "trusted Microsoft services"]),
])
def test_storage_refusals_by_their_error_code(code: str, message: str, what: str, expected: list[str]) -> None:
    container = _blob_refusal(code, message)
    text = _fail(container.get_container_properties, what)
    for words in expected:
        assert words in text, text
    assert "Reader role on the resource group" not in text


# -- ARM refusals -----------------------------------------------------------------------------------
def test_linked_authorization_names_both_actions_and_the_linked_scope() -> None:
    # wording of Azure/aad-pod-identity#613 and kubernetes-sigs/cloud-provider-azure#1999
    message = (f"The client 'admin@example.com' with object id '11111111-1111-1111-1111-111111111111' has permission "
               f"to perform action 'Microsoft.DataBox/jobs/write' on scope '/subscriptions/{SUB}/resourceGroups/rg/"
               f"providers/Microsoft.DataBox/jobs/seed'; however, it does not have permission to perform action "
               f"'Microsoft.Storage/storageAccounts/write' on the linked scope(s) '{ACCOUNT}' or the linked scope(s) "
               "are invalid.")
    clients = _arm("PUT", r".*/jobs/seed", 403, {"error": {"code": "LinkedAuthorizationFailed", "message": message}})
    text = _fail(lambda: clients.databox.jobs.begin_create("rg", "seed", {"location": "westus",
                                                                         "sku": {"name": "DataBoxCustomerDisk"}}),
                 "create Data Box job seed")
    assert "may perform Microsoft.DataBox/jobs/write" in text
    assert f"not Microsoft.Storage/storageAccounts/write on {ACCOUNT}" in text
    assert "LinkedAuthorizationFailed" in text


def test_a_token_of_another_tenant_is_not_read_as_not_signed_in() -> None:
    # the 401 of Azure/LogicAppsUX#9068 and Azure/azure-sdk-for-python#38382
    message = ("The access token is from the wrong issuer 'https://sts.windows.net/aaaaaaaa-0000-0000-0000-000000000001/'. "
               "It must match the tenant 'https://sts.windows.net/bbbbbbbb-0000-0000-0000-000000000002/' associated "
               "with this subscription. Please use the authority (URL) 'https://login.windows.net/bbbbbbbb-0000-0000-"
               "0000-000000000002' to get the token. Note, if the subscription is transferred to another tenant there "
               "is no impact to the services, but information about new tenant could take time to propagate (up to "
               "an hour). If you just transferred your subscription and see this error message, please try back later.")
    clients = _arm("GET", r".*/resourcegroups/rg", 401, {"error": {"code": "InvalidAuthenticationTokenTenant",
                                                                   "message": message}},
                   **{"WWW-Authenticate": 'Bearer authorization_uri="https://login.windows.net/bbbbbbbb-0000-0000-0000-'
                                          '000000000002", error="invalid_token"'})
    text = _fail(lambda: clients.resource.resource_groups.get("rg"), "read resource group rg")
    assert "not signed in" not in text
    assert "wrong tenant" in text and "aaaaaaaa-0000-0000-0000-000000000001" in text
    assert "azure.tenant_id: bbbbbbbb-0000-0000-0000-000000000002" in text


def test_a_locked_scope_names_the_lock_and_how_to_remove_it() -> None:
    # the wording of ARM's 409 ScopeLocked (hashicorp/terraform-provider-azurerm#17478, Azure/apiops#606)
    message = (f"The scope '{ACCOUNT}' cannot perform delete operation because following scope(s) are locked: "
               f"'{ACCOUNT}'. Please remove the lock and try again.")
    clients = _arm("DELETE", r".*/storageAccounts/seedstore", 409, {"error": {"code": "ScopeLocked",
                                                                             "message": message}})
    text = _fail(lambda: clients.storage.storage_accounts.delete("rg", "seedstore"), "delete storage account seedstore")
    assert "cannot be deleted: a management lock" in text and "DATABOX_SERVICE" in text and "az lock" in text


@pytest.mark.parametrize("code", ["AnotherOperationInProgress", "StorageAccountOperationInProgress"])
def test_another_operation_in_progress_is_retried(code: str) -> None:
    adapter = CannedAdapter()
    adapter.add("PATCH", r".*/storageAccounts/seedstore", {"id": ACCOUNT, "name": "seedstore"})
    # openshift/openshift-azure#1332 (storage's code); ARM's generic one
    adapter.add("PATCH", r".*/storageAccounts/seedstore", {"error": {
        "code": code, "message": "An operation is currently performing on this storage account that requires "
                                 "exclusive access."}}, status=409)
    clients = CannedClients(adapter)
    calls = []

    def patch() -> Any:
        calls.append(1)
        if len(calls) == 3:  # the service is free again
            adapter.routes.pop(0)
        return clients.storage.storage_accounts.update("rg", "seedstore", {"tags": {}})

    result = call_with_retry(patch, "update storage account seedstore", RetryPolicy.fast(), sleep=lambda s: None)
    assert result.name == "seedstore" and len(calls) == 3


def test_an_ordinary_conflict_is_not_retried() -> None:
    clients = _arm("PATCH", r".*/storageAccounts/seedstore", 409, {"error": {"code": "Conflict", "message": "No."}})
    calls = []

    def patch() -> Any:
        calls.append(1)
        return clients.storage.storage_accounts.update("rg", "seedstore", {"tags": {}})

    _fail(patch, "update storage account seedstore")
    assert len(calls) == 1
