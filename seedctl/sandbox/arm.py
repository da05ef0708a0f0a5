"""What every ARM handler shares: the request/response objects, ARM's error envelope, api-version
checks, resource-group lookups, paging and long-running-operation bookkeeping."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from seedctl.sandbox.store import Operation

if TYPE_CHECKING:
    from seedctl.sandbox.state import SandboxState

API_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview|-privatepreview|-beta|-alpha)?$")
# Answers sent with a 202 so the SDK polls again after 10 ms instead of its 30 s default
# (sdk-spike.md: `Retry-After: 0` falls back to the client's polling_interval).
POLL_HEADERS = {"x-ms-retry-after-ms": "10"}  # no Retry-After: azure-core prefers it (whole seconds)


class ArmError(Exception):
    """An ARM error answer: `{"error": {"code", "message", "target"?}}` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str, *, target: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.target = status, code, message, target
        self.headers = headers or {}
        self.additional_info: list[dict[str, Any]] | None = None  # ARM's additionalInfo (a policy denial)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target:
            error["target"] = self.target
        if self.additional_info:
            error["additionalInfo"] = self.additional_info
        return {"error": error}


@dataclass
class Request:
    method: str
    path: str  # percent-decoded, without the query
    query: dict[str, str]  # keys lower-cased (ARM query parameter names are case-insensitive)
    headers: dict[str, str]  # keys lower-cased
    raw_body: bytes
    base_url: str  # "https://127.0.0.1:PORT", to build absolute polling and paging URLs
    params: dict[str, str] = field(default_factory=dict)  # from the route's named groups

    def json(self) -> dict[str, Any]:
        if not self.raw_body.strip():
            return {}
        try:
            body = json.loads(self.raw_body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ArmError(400, "InvalidRequestContent",
                           f"The request content was invalid and could not be deserialized: {exc}") from None
        if not isinstance(body, dict):
            raise ArmError(400, "InvalidRequestContent", "The request content must be a JSON object.")
        return body

    @property
    def api_version(self) -> str | None:
        return self.query.get("api-version")


@dataclass
class Response:
    status: int
    body: Any = None  # dict/list → JSON; None → empty body
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["SandboxState", Request], Response]


@dataclass
class Route:
    methods: tuple[str, ...]
    pattern: re.Pattern[str]
    handler: Handler
    api_versions: frozenset[str] | None  # None: any well-formed version
    locked: bool = True  # run under the store lock (False for long work such as the datacenter)
    kind: str = "arm"


def route(methods: str, pattern: str, handler: Handler, versions: Iterable[str] | None,
          *, locked: bool = True) -> Route:
    return Route(tuple(methods.split()), re.compile("^" + pattern + "/?$", re.IGNORECASE), handler,
                 frozenset(versions) if versions is not None else None, locked)


# Path pieces (ARM names: anything but '/'; subscriptions: a GUID).
SUB = r"/subscriptions/(?P<sub>[0-9a-fA-F-]{36})"
RG = SUB + r"/resourcegroups/(?P<rg>[^/]+)"
NAME = r"[^/]+"


def check_api_version(req: Request, allowed: frozenset[str] | None, what: str) -> None:
    version = req.api_version
    if version is None:
        raise ArmError(400, "MissingApiVersionParameter",
                       "The api-version query parameter (?api-version=) is required for all requests.")
    if not API_VERSION_RE.match(version) or (allowed is not None and version not in allowed):
        supported = ", ".join(sorted(allowed, reverse=True)) if allowed else "a date such as 2025-04-01"
        raise ArmError(400, "InvalidApiVersionParameter",
                       f"The api-version '{version}' is invalid for {what}. "
                       f"The supported versions are '{supported}'.")


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def new_etag() -> str:
    return f'"0x{uuid.uuid4().hex[:15].upper()}"'


def rg_id(sub: str, rg: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}"


def require_rg(app: SandboxState, sub: str, rg: str) -> dict[str, Any]:
    row = app.store.get(rg_id(sub, rg))
    if row is None:
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
    return row.body


def not_found(resource_type: str, name: str, rg: str) -> ArmError:
    return ArmError(404, "ResourceNotFound",
                    f"The Resource '{resource_type}/{name}' under resource group '{rg}' was not found. "
                    "For more details please go to https://aka.ms/ARMResourceNotFoundFix")


def check_tags(tags: Any) -> dict[str, str] | None:
    """ARM's tag rules: an object of at most 50 string values, names ≤ 512 and values ≤ 256."""
    if tags is None:
        return None
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise ArmError(400, "InvalidTag", "Tags must be an object whose values are strings.")
    if len(tags) > 50:
        raise ArmError(400, "InvalidTagCount", "A resource can have at most 50 tags.")
    for k, v in tags.items():
        if not k or len(k) > 512 or any(c in k for c in "<>%&\\?/"):
            raise ArmError(400, "InvalidTagNameCharacters", f"The tag name '{k}' is invalid.")
        if len(v) > 256:
            raise ArmError(400, "InvalidTagValueLength", f"The value of tag '{k}' exceeds 256 characters.")
    return dict(tags)


def paged(req: Request, items: list[dict[str, Any]], *, max_top: int | None = None,
          default_page: int = 100) -> Response:
    """ARM list answer with `nextLink` paging (absolute, carries api-version: clients follow it
    as given)."""
    top = req.query.get("$top")
    page = default_page
    if top is not None:
        try:
            page = int(top)
        except ValueError:
            raise ArmError(400, "InvalidParameter", f"$top '{top}' is not an integer.",
                           target="$top") from None
        if page < 1 or (max_top is not None and page > max_top):
            raise ArmError(400, "InvalidParameter", f"$top must be between 1 and {max_top or 'n'}.",
                           target="$top")
    skip = int(req.query.get("$skiptoken", "0") or 0)
    chunk = items[skip:skip + page]
    body: dict[str, Any] = {"value": chunk}
    if skip + page < len(items):
        params = {"api-version": req.api_version or "", "$skiptoken": str(skip + page)}
        if top is not None:
            params["$top"] = str(page)
        body["nextLink"] = f"{req.base_url}{quote(req.path)}?{urlencode(params)}"
    return Response(200, body)


def start_operation(app: SandboxState, req: Request, resource_id: str, namespace: str, location: str,
                    *, fail: bool = False, delay: float | None = None,
                    error: dict[str, str] | None = None, location_only: bool = False) -> dict[str, str]:
    """Record a long-running operation on `resource_id`; returns the 202 headers
    (Azure-AsyncOperation + Location, with a short retry hint; `location_only`: Location alone, as
    the Data Box service answers, and its polls end as ops_operations.operation_result says)."""
    op_id = str(uuid.uuid4())
    seconds = app.store.setting("lro_seconds", 0.1) if delay is None else delay
    err = error or {"code": "InternalServerError",
                    "message": "The operation failed (injected by the sandbox)."}
    app.store.add_operation(Operation(op_id, resource_id, time.time() + float(seconds),
                                      "Failed" if fail else "Succeeded", err if fail else None, False))
    sub = req.params["sub"]
    base = f"{req.base_url}/subscriptions/{sub}/providers/{namespace}/locations/{location}"
    version = urlencode({"api-version": req.api_version or ""})
    if location_only:
        return {"Location": f"{base}/operationResults/{op_id}?{version}", **POLL_HEADERS}
    return {"Azure-AsyncOperation": f"{base}/asyncoperations/{op_id}?monitor=true&{version}",
            "Location": f"{base}/operationresults/{op_id}?{version}", **POLL_HEADERS}


def json_copy(value: Any) -> Any:
    return json.loads(json.dumps(value))
