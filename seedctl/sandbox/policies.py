"""Azure Policy in the sandbox: the one built-in definition seedctl meets, assigned per
subscription through the control API, and enforced on storage account writes as ARM enforces a
Deny: 403 `RequestDisallowedByPolicy`, the policy named in `additionalInfo`.

The definition is the built-in "Storage accounts should prevent shared key access"
(`8c6a50c6-9ffd-4ae7-986f-5fa6111f9a54`, version 2.0.0, Azure/azure-policy
built-in-policies/policyDefinitions/Storage/StorageAccountAllowSharedKeyAccess_Audit.json): an
account matches when `allowSharedKeyAccess` does not exist, equals "" or equals "true" (version
1.0.0 matched only "true"; an unset value is what 2.0.0 added). Its effect parameter is Audit (the
default: nothing is refused), Deny or Disabled.

The answer's shape: the message of ARM's RequestDisallowedByPolicy troubleshooting page, and an
`additionalInfo` PolicyViolation entry as real answers carry it (docs/sandbox.md names the source).
Assignments are rows of the store (`Microsoft.Authorization/policyAssignments` at subscription
scope), so a reset forgets them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from seedctl.sandbox.arm import ArmError

if TYPE_CHECKING:
    from seedctl.sandbox.state import SandboxState

ASSIGNMENT_TYPE = "Microsoft.Authorization/policyAssignments"
SHARED_KEY_POLICY = {
    "id": "/providers/Microsoft.Authorization/policyDefinitions/8c6a50c6-9ffd-4ae7-986f-5fa6111f9a54",
    "name": "8c6a50c6-9ffd-4ae7-986f-5fa6111f9a54",
    "displayName": "Storage accounts should prevent shared key access",
    "version": "2.0.0",
}
DEFINITIONS = {"deny-shared-key": SHARED_KEY_POLICY}
EFFECTS = ("Audit", "Deny", "Disabled")
FIELD = "Microsoft.Storage/storageAccounts/allowSharedKeyAccess"


def assignment_id(sub: str, name: str) -> str:
    return f"/subscriptions/{sub}/providers/{ASSIGNMENT_TYPE}/{name}"


def assign(app: SandboxState, sub: str, definition: str, effect: str, name: str | None = None) -> dict[str, Any]:
    """Assign a built-in definition to a subscription (the control API's `policies`)."""
    if definition not in DEFINITIONS:
        raise ValueError(f"unknown policy definition {definition!r}; the sandbox knows {', '.join(DEFINITIONS)}")
    if effect not in EFFECTS:
        raise ValueError(f"effect must be one of {', '.join(EFFECTS)}")
    name = name or f"{definition}-{effect.lower()}"
    rid = assignment_id(sub, name)
    body = {"id": rid, "name": name, "type": ASSIGNMENT_TYPE, "properties": {
        "displayName": f"{DEFINITIONS[definition]['displayName']} ({effect})",
        "policyDefinitionId": DEFINITIONS[definition]["id"], "scope": f"/subscriptions/{sub}",
        "parameters": {"effect": {"value": effect}}}}
    app.store.put(rid, ASSIGNMENT_TYPE, sub, None, body)
    return body


def _shared_key_matches(properties: dict[str, Any]) -> bool:
    """The 2.0.0 rule: the field does not exist, equals "", or equals "true" (policy compares
    strings without regard to case; a JSON true is "true")."""
    if "allowSharedKeyAccess" not in properties or properties["allowSharedKeyAccess"] is None:
        return True
    return json.dumps(properties["allowSharedKeyAccess"]).strip('"').lower() in ("", "true")


def check_policies(app: SandboxState, sub: str, account: dict[str, Any]) -> None:
    """Refuse a storage account write the subscription's Deny assignments match."""
    for row in app.store.list(ASSIGNMENT_TYPE, sub):
        props = row.body["properties"]
        effect = ((props.get("parameters") or {}).get("effect") or {}).get("value", "Audit")
        if props.get("policyDefinitionId") != SHARED_KEY_POLICY["id"] or effect != "Deny":
            continue
        if _shared_key_matches(account.get("properties") or {}):
            raise _denied(account, row.body, props)


def _denied(account: dict[str, Any], assignment: dict[str, Any], props: dict[str, Any]) -> ArmError:
    name = account["name"]
    identifiers = [{"policyAssignment": {"name": props["displayName"], "id": assignment["id"]},
                    "policyDefinition": {"name": SHARED_KEY_POLICY["displayName"], "id": SHARED_KEY_POLICY["id"],
                                         "version": SHARED_KEY_POLICY["version"]}}]
    value = (account.get("properties") or {}).get("allowSharedKeyAccess")
    info = {
        "evaluationDetails": {"evaluatedExpressions": [
            {"result": "True", "expressionKind": "Field", "expression": "type", "path": "type",
             "expressionValue": "Microsoft.Storage/storageAccounts", "targetValue": "Microsoft.Storage/storageAccounts",
             "operator": "Equals"},
            {"result": "True", "expressionKind": "Field", "expression": FIELD, "path": "properties.allowSharedKeyAccess",
             "expressionValue": "******" if value is not None else None,
             "targetValue": "false" if value is None else "true", "operator": "Exists" if value is None else "Equals"},
        ]},
        "policyDefinitionId": SHARED_KEY_POLICY["id"], "policyDefinitionName": SHARED_KEY_POLICY["name"],
        "policyDefinitionDisplayName": SHARED_KEY_POLICY["displayName"],
        "policyDefinitionVersion": SHARED_KEY_POLICY["version"], "policyDefinitionEffect": "deny",
        "policyAssignmentId": assignment["id"], "policyAssignmentName": assignment["name"],
        "policyAssignmentDisplayName": props["displayName"], "policyAssignmentScope": props["scope"],
        "policyAssignmentParameters": props.get("parameters") or {}, "policyExemptionIds": [],
        "policyEnrollmentIds": [],
    }
    error = ArmError(403, "RequestDisallowedByPolicy",
                     f"Resource '{name}' was disallowed by policy. Policy identifiers: "
                     f"'{json.dumps(identifiers, separators=(',', ':'))}'.", target=name)
    error.additional_info = [{"type": "PolicyViolation", "info": info}]
    return error
