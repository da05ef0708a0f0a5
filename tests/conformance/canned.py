"""Real SDK clients that talk to a canned Azure: every request is answered from a table of
(method, path pattern) → (status, JSON body), so the official examples' responses go through the
SDKs' own deserialization and then seedctl's read path, exactly as a real answer would.

Every client (the generated track-2 ones and seedctl's own ARM REST client, which the classic
Import/Export back end uses) gets a `RequestsTransport` (an azure-core `HttpTransport`) whose
requests session has the canned adapter mounted.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.response import HTTPResponse

from seedctl.azure.clients import AzureClients
from seedctl.azure.clouds import Cloud
from seedctl.azure.credentials import StaticTokenCredential
from seedctl.azure.retry import RetryPolicy

ARM = "https://management.canned.test"
CLOUD = Cloud("canned", ARM, None, "blob.canned.test")
SUB = "00000000-0000-0000-0000-000000000000"


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class CannedAdapter(BaseAdapter):
    """Answers from the route table; anything unrouted is ARM's 404, so a missing route reads as
    'absent' rather than passing silently as something else. Records what was asked."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: list[Route] = []
        self.seen: list[tuple[str, str]] = []
        self.bodies: list[bytes] = []  # each request's body, in the order of `seen`

    def add(self, method: str, path: str, body: Any, status: int = 200, **headers: str) -> None:
        """`path` is a regular expression over the URL path (case-insensitive, as ARM is)."""
        self.routes.insert(0, Route(method.upper(), re.compile(path, re.I), status, body, headers))

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        path = urlsplit(request.url).path
        self.seen.append((request.method or "", request.url or ""))
        body = request.body or b""
        self.bodies.append(body.encode() if isinstance(body, str) else bytes(body))
        for route in self.routes:
            if route.method == request.method and route.pattern.fullmatch(path):
                return self._response(request, route.status, route.body, route.headers)
        return self._response(request, 404, {"error": {"code": "ResourceNotFound",
                                                       "message": f"no canned answer for {path}"}}, {})

    @staticmethod
    def _response(request: requests.PreparedRequest, status: int, body: Any,
                  headers: dict[str, str]) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response.reason = "OK" if status < 400 else "Error"
        # a JSON body, or the service's bytes as recorded (the blob service answers XML)
        raw_body = isinstance(body, bytes)
        data = body if raw_body else b"" if body is None else json.dumps(body).encode()
        # azure-core reads `raw` (and may stream from it); requests' own accessors read `_content`
        response.raw = HTTPResponse(body=io.BytesIO(data), preload_content=False, status=status)
        response._content = data
        response._content_consumed = True
        content_type = "application/xml" if raw_body else "application/json; charset=utf-8"
        response.headers = CaseInsensitiveDict({"Content-Type": content_type, "x-ms-request-id": "canned",
                                                **headers})
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


class CannedClients(AzureClients):
    """seedctl's own client factory, with the transport swapped for the canned adapter."""

    def __init__(self, adapter: CannedAdapter, subscription_id: str = SUB) -> None:
        super().__init__(CLOUD, subscription_id, StaticTokenCredential("canned"), RetryPolicy.fast())
        self.adapter = adapter
        self.session = requests.Session()
        self.session.mount("https://", adapter)

    def _track2_kwargs(self) -> dict[str, Any]:
        from azure.core.pipeline.transport import RequestsTransport

        kwargs = super()._track2_kwargs()
        kwargs["transport"] = RequestsTransport(session=self.session, session_owner=False)
        kwargs["polling_interval"] = 0
        return kwargs
