"""Why Azure refused a request, and what to do: one message per refusal the service names.

`translate_error` (azure/errors.py) asks `explain` first; each refusal here has its own code and its
own fix, because the generic "ask for the Contributor role" is wrong for all of them:

- `RequestDisallowedByPolicy` (ARM, 403): an Azure Policy assignment denied the request. The
  policy is named from `additionalInfo[].info` (display names, the fields that made it match);
  a policy on `allowSharedKeyAccess` has a spec field that fixes it.
- `KeyBasedAuthenticationNotPermitted` (storage, 403): the account refuses account keys and SAS.
- `AuthorizationPermissionMismatch` (storage, 403): Entra ID sign-in without a data role.
- `AuthorizationFailure` (storage, 403): the account's firewall or virtual-network rules.
- `LinkedAuthorizationFailed` (ARM, 403): allowed on the resource, not on a resource it links to
  (a Data Box job names the storage account it imports into).
- `InvalidAuthenticationTokenTenant` (ARM, 401): a token from another tenant; it is not "not
  signed in", and signing in again does not help.
- `ScopeLocked` (ARM, 409): a management lock (the Data Box service puts `DATABOX_SERVICE` on the
  storage account of a job).

Sources: docs/troubleshooting.md lists each message with the official page or recorded answer it
is modelled on. Service text passes through `redact` before it is shown.
"""

from __future__ import annotations

import json
import re
from typing import Any

from seedctl.azure.redact import redact

SHARED_KEY_PATH = "properties.allowSharedKeyAccess"
SHARED_KEY_FIELD = "Microsoft.Storage/storageAccounts/allowSharedKeyAccess"
DATA_READER = "Storage Blob Data Reader"
DATA_CONTRIBUTOR = "Storage Blob Data Contributor"

_TENANTS = re.compile(r"wrong issuer '([^']+)'.*?must match the tenant '([^']+)'", re.S)
_LINKED = re.compile(r"perform action '([^']+)' on scope '([^']+)'; however, it does not have permission "
                     r"to perform action(?:\(s\))? '([^']+)' on the linked scope\(s\) '([^']+)'", re.S)
_LINKED_TENANT = re.compile(r"current tenant '([^']+)' is not authorized to access linked subscription '([^']+)'")
_LOCKED = re.compile(r"The scope '([^']+)' cannot perform (\w+) operation because following scope\(s\) are "
                     r"locked: '([^']+)'")
_POLICY_IDS = re.compile(r"Policy identifiers: '(\[.*\])'", re.S)


def _tenant_of(issuer: str) -> str:
    """'https://sts.windows.net/<tenant>/' -> '<tenant>'."""
    return issuer.rstrip("/").rsplit("/", 1)[-1]


def _reads(what: str) -> bool:
    return what.startswith(("read", "get", "list", "download", "check", "verify"))


def _policies(additional_info: Any, message: str) -> tuple[list[str], list[str]]:
    """(the policies that denied, the request fields their rules matched), from the error's
    additionalInfo (PolicyViolation) or, when that is missing, the message's policy identifiers."""
    names: list[str] = []
    paths: list[str] = []
    for item in additional_info or ():
        info = getattr(item, "info", None)
        if info is None and isinstance(item, dict):
            info = item.get("info")
        if not isinstance(info, dict):
            continue
        definition = info.get("policyDefinitionDisplayName") or info.get("policyDefinitionName")
        assignment = info.get("policyAssignmentDisplayName") or info.get("policyAssignmentName")
        scope = info.get("policyAssignmentScope")
        if definition:
            label = f"\"{definition}\""
            if assignment and assignment != definition:
                label += f" (assignment \"{assignment}\"{' at ' + scope if scope else ''})"
            elif scope:
                label += f" (assigned at {scope})"
            names.append(label)
        expressions = (info.get("evaluationDetails") or {}).get("evaluatedExpressions") or []
        for expr in expressions:
            if isinstance(expr, dict) and str(expr.get("result")).lower() == "true" and expr.get("path") \
                    and expr.get("path") != "type":
                paths.append(str(expr["path"]))
            if isinstance(expr, dict) and expr.get("expression") == SHARED_KEY_FIELD:
                paths.append(SHARED_KEY_PATH)
    if not names:
        found = _POLICY_IDS.search(message)
        try:
            for entry in json.loads(found.group(1)) if found else ():
                name = ((entry.get("policyDefinition") or {}).get("name")
                        or (entry.get("policyAssignment") or {}).get("name"))
                if name:
                    names.append(f"\"{name}\"")
        except (ValueError, AttributeError, TypeError):
            pass
    return list(dict.fromkeys(names)), list(dict.fromkeys(paths))


def explain(code: str | None, status: int | None, message: str, what: str, *,
            additional_info: Any = None) -> str | None:
    """The full message for a refusal this module knows, or None."""
    message = redact(message)
    if code == "InvalidAuthenticationTokenTenant":
        tenants = _TENANTS.search(message)
        if tenants:
            token, wanted = _tenant_of(tenants.group(1)), _tenant_of(tenants.group(2))
            detail = f"the token is from tenant {token}, and the subscription belongs to tenant {wanted}"
        else:
            wanted, detail = "<the subscription's tenant>", "the token is from another tenant than the subscription's"
        return (f"{what} failed: signed in to the wrong tenant (InvalidAuthenticationTokenTenant): {detail}. "
                f"Set azure.tenant_id: {wanted} in the spec (seedctl then asks every credential for a token of "
                f"that tenant), or sign in to it (`az login --tenant {wanted}`). A subscription moved to another "
                "tenant can take up to an hour to show there.")
    if code == "RequestDisallowedByPolicy":
        names, paths = _policies(additional_info, message)
        who = ", ".join(names) if names else "(the policy is not named in the answer)"
        matched = f" on {', '.join(paths)}" if paths else ""
        if SHARED_KEY_PATH in paths:
            fix = ("This policy requires storage accounts without shared key access: set "
                   "storage_account.allow_shared_key_access: false in the spec (seedctl then uses Entra ID for "
                   "blob access; docs/getting-started.md says what that needs), or ask the policy's owner for an "
                   "exemption.")
        else:
            fix = ("Change the spec so the request complies, or ask the policy's owner for an exemption; "
                   "`az policy state list --resource <id>` shows why it matched.")
        return f"{what} failed: denied by Azure Policy {who}{matched} (RequestDisallowedByPolicy). {fix}"
    if code == "KeyBasedAuthenticationNotPermitted":
        return (f"{what} failed: the storage account does not allow shared key access (account keys and SAS; "
                "KeyBasedAuthenticationNotPermitted). Set storage_account.allow_shared_key_access: false in the "
                "spec so seedctl uses your Entra ID sign-in, which needs the "
                f"{DATA_READER if _reads(what) else DATA_CONTRIBUTOR} role on the account.")
    if code == "AuthorizationPermissionMismatch":
        role = DATA_READER if _reads(what) else DATA_CONTRIBUTOR
        return (f"{what} failed: the signed-in identity has no data access to the storage account "
                f"(AuthorizationPermissionMismatch). Ask an owner to grant it the {role} role on the storage "
                f"account (or its resource group); Owner and Contributor alone do not give blob access with "
                "Entra ID. A new role assignment can take a few minutes to apply.")
    if code == "AuthorizationFailure":
        return (f"{what} failed: the storage account's network rules refused this computer (AuthorizationFailure). "
                "Add this computer's public IP address to the account's firewall (Networking: Firewalls and "
                "virtual networks) or run seedctl from an allowed network. The import service itself needs "
                "\"Allow trusted Microsoft services to access this storage account\" (docs/getting-started.md).")
    if code == "LinkedAuthorizationFailed":
        linked = _LINKED.search(message)
        if linked:
            allowed, scope, denied, linked_scope = linked.groups()
            return (f"{what} failed: the identity may perform {allowed} on {scope}, but not {denied} on "
                    f"{linked_scope}, which the request names (LinkedAuthorizationFailed). Ask an owner to grant a "
                    f"role that includes {denied} on {linked_scope} (a Data Box job needs it on the storage "
                    "account it imports into).")
        tenant = _LINKED_TENANT.search(message)
        if tenant:
            return (f"{what} failed: the request names a resource in subscription {tenant.group(2)}, which the "
                    f"signed-in tenant {tenant.group(1)} may not reach (LinkedAuthorizationFailed). Keep the "
                    "storage account and the job in subscriptions of the same tenant.")
        return (f"{what} failed: allowed on the resource, but not on a resource the request names "
                f"(LinkedAuthorizationFailed: {message}). Ask an owner for that permission on the linked resource.")
    if code == "ScopeLocked":
        locked = _LOCKED.search(message)
        target, operation, lock_scope = locked.groups() if locked else ("the resource", "delete", "a parent scope")
        databox = (" The Data Box service puts a CanNotDelete lock named DATABOX_SERVICE on the storage account of "
                   "every job, and leaves it there after the job." if "/storageaccounts/" in lock_scope.lower()
                   else "")
        verb = "deleted" if operation.lower() == "delete" else "changed"
        return (f"{what} failed: {target} cannot be {verb}: a management lock on {lock_scope} forbids it "
                f"(ScopeLocked).{databox} Remove the lock first if the deletion is really wanted (`az lock list "
                f"--resource {lock_scope}`, then `az lock delete --ids <lock id>`; needs Owner or User Access "
                "Administrator).")
    return None
