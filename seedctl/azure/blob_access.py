"""How seedctl reaches a storage account's blobs (status, verify, repair, destroy): Microsoft Entra
ID first, the account key only where the account allows shared keys and the identity has no data
role.

Why this order: many organisations deny shared key access by policy ("Storage accounts should
prevent shared key access"), and on such an account listKeys still answers, so a key-first client
got 403 KeyBasedAuthenticationNotPermitted on its first blob request. Entra ID works everywhere the
identity holds a Storage Blob Data role; the key stays a fallback for the common case of an owner or
contributor without one.

The decision, once per account and run:
1. read the account (management plane, Reader): its blob endpoint and `allowSharedKeyAccess`;
2. `allowSharedKeyAccess` false: Entra ID, and nothing else (a key would be refused);
3. otherwise probe Entra ID with one data action in the spec's container (list one blob): allowed,
   or the container is missing (nothing to tell) → Entra ID; 403 AuthorizationPermissionMismatch
   (no data role) → the account key from listKeys, when listKeys answers with one; else Entra ID,
   and the role message of azure/denials.py says what is missing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from seedctl.azure.redact import remember
from seedctl.azure.retry import call_with_retry

log = logging.getLogger("seedctl.azure")
ENTRA_ID, ACCOUNT_KEY = "Entra ID", "account key"


@dataclass(frozen=True)
class BlobAccess:
    client: Any  # azure.storage.blob.BlobServiceClient
    method: str  # ENTRA_ID or ACCOUNT_KEY
    why: str


def first_listed_key(listed: Any) -> str | None:
    """The first key value of a listKeys answer, or None: `keys` and each key's `value` are optional
    in the description, so a missing one is not a crash."""
    entries = dict(listed).get("keys") if listed is not None else None
    for entry in entries or ():
        value = dict(entry).get("value") if entry is not None else None
        if value:
            return str(value)
    return None


def _no_data_role(exc: BaseException) -> bool:
    code = getattr(exc, "error_code", None)
    return str(getattr(code, "value", code)) == "AuthorizationPermissionMismatch"


def _entra_can_read(client: Any, container: str, clients: Any) -> bool:
    """One data action with the token: list at most one blob of `container`."""

    def probe() -> bool:
        try:
            pages = client.get_container_client(container).list_blobs(results_per_page=1).by_page()
            list(next(pages, []))
        except ResourceNotFoundError:
            return True  # no container yet: the token is as good as the key for what follows
        except HttpResponseError as exc:
            if _no_data_role(exc):
                return False
            raise
        return True

    return call_with_retry(probe, f"list the blobs of container {container} with Entra ID", clients.policy)


def open_blob_access(clients: Any, account_name: str, resource_group: str, *,
                     endpoint: str | None = None, probe_container: str | None = None) -> BlobAccess:
    """The BlobServiceClient to use for `account_name`, and how it signs in (see the module)."""
    from azure.storage.blob import BlobServiceClient

    account = call_with_retry(lambda: clients.storage.storage_accounts.get_properties(resource_group, account_name),
                              f"read storage account {account_name}", clients.policy)
    endpoints = getattr(account, "primary_endpoints", None)
    url = clients.blob_account_url(account_name, endpoint or getattr(endpoints, "blob", None))
    options = clients.blob_client_options()
    entra = BlobServiceClient(url, credential=clients.credential, **options)
    if getattr(account, "allow_shared_key_access", None) is False:
        return BlobAccess(entra, ENTRA_ID, "the account does not allow shared key access")
    if probe_container is None or _entra_can_read(entra, probe_container, clients):
        return BlobAccess(entra, ENTRA_ID, "the signed-in identity has data access")
    try:
        key = first_listed_key(clients.storage.storage_accounts.list_keys(resource_group, account_name))
    except HttpResponseError as exc:
        if exc.status_code != 403:  # network, throttling, a missing account: a real error
            raise
        key = None  # may not list keys either: the role message will say what to grant
    if key is None:
        return BlobAccess(entra, ENTRA_ID, "no data role, and no account key could be listed")
    remember(key)
    keyed = BlobServiceClient(url, credential={"account_name": account_name, "account_key": key}, **options)
    return BlobAccess(keyed, ACCOUNT_KEY, "the signed-in identity has no Storage Blob Data role; the account "
                                          "allows shared keys and listKeys answered")


def describe(access: BlobAccess, account_name: str) -> None:
    log.info("blob access to storage account %s: %s (%s)", account_name, access.method, access.why)
