"""The HTTPS front of the sandbox: TLS, the bearer-token check, fault injection, ARM headers
(x-ms-request-id), the error envelope, and the control endpoints under /_sandbox/."""

from __future__ import annotations

import hmac
import json
import socket
import ssl
import struct
import sys
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from seedctl.sandbox.app import SandboxApp
from seedctl.sandbox.arm import ArmError, Request, Response
from seedctl.sandbox.faults import FaultRule

CONTROL_PREFIX = "/_sandbox/"


class ArmServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, app: SandboxApp, ssl_context: ssl.SSLContext, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), ArmRequestHandler)
        self.app = app
        self.ssl_context = ssl_context
        app.base_url = f"https://127.0.0.1:{self.server_address[1]}"

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs here, in the request's own thread, so one slow client cannot
        # stall the accept loop.
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError)):
            return  # clients hang up; that is not the sandbox's problem
        super().handle_error(request, client_address)


def make_ssl_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


class ArmRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "seedctl-sandbox"
    sys_version = ""
    timeout = 120
    server: ArmServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # the request log (control API) replaces the access log

    def do_GET(self) -> None:
        self._handle()

    do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = do_GET

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass

    # -- plumbing -------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, resp: Response) -> None:
        payload = b"" if resp.body is None else json.dumps(resp.body).encode("utf-8")
        self.send_response(resp.status)
        request_id = str(uuid.uuid4())
        self.send_header("x-ms-request-id", request_id)
        self.send_header("x-ms-correlation-request-id",
                         self.headers.get("x-ms-client-request-id") or request_id)
        self.send_header("Cache-Control", "no-cache")
        if payload:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", "0" if self.command == "HEAD" else str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    def _reset(self) -> None:
        """Drop the connection with a TCP reset and no answer."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(),
                                                                   self.server.app.token.encode())

    def _handle(self) -> None:
        app = self.server.app
        split = urlsplit(self.path)
        path = unquote(split.path)
        query = {k.lower(): v for k, v in parse_qsl(split.query, keep_blank_values=True)}
        body = self._read_body()
        if not self._authorized():
            err = ArmError(401, "AuthenticationFailed" if self.headers.get("Authorization") else
                           "AuthenticationFailed",
                           "Authentication failed. The 'Authorization' header is missing or its bearer "
                           "token is not the sandbox's token." )
            self._send(Response(401, err.body(), {"WWW-Authenticate": 'Bearer error="invalid_token"'}))
            if not path.startswith(CONTROL_PREFIX):
                app.log_request(self.command, path, 401)
            return
        if path.startswith(CONTROL_PREFIX):
            self._send(self._control(path[len(CONTROL_PREFIX):].strip("/"), body))
            return
        rule = app.faults.take(self.command, path)
        if rule is not None:
            if rule.kind == "reset":
                app.log_request(self.command, path, 0)
                self._reset()
                return
            if rule.kind == "slow":
                time.sleep(rule.delay if rule.delay is not None else 2.0)
            else:
                self._send_fault(rule, path)
                return
        req = Request(self.command, path, query, {k.lower(): v for k, v in self.headers.items()}, body,
                      app.base_url)
        try:
            resp = app.dispatch(req)
        except ArmError as err:
            resp = Response(err.status, err.body(), err.headers)
        except Exception:  # noqa: BLE001 - a sandbox bug must surface as a 500, not a hang
            traceback.print_exc()
            resp = Response(500, ArmError(500, "InternalServerError",
                                          "The sandbox failed to process the request; see sandbox.log.").body())
        app.log_request(self.command, path, resp.status)
        self._send(resp)

    def _send_fault(self, rule: FaultRule, path: str) -> None:
        codes = {"403": (403, "AuthorizationFailed", "The client does not have authorization to perform action "
                                                     "over this scope or the scope is invalid."),
                 "429": (429, "TooManyRequests", "The request is being throttled."),
                 "500": (500, "InternalServerError", "Encountered internal server error."),
                 "503": (503, "ServiceUnavailable", "The service is temporarily unavailable."),
                 "lro_failed": (500, "InternalServerError", "")}
        status, code, message = codes[rule.kind]
        headers = {}
        if rule.retry_after is not None:
            headers["Retry-After"] = str(int(rule.retry_after))
        self.server.app.log_request(self.command, path, status)
        self._send(Response(status, ArmError(status, code, message + " (injected by the sandbox)").body(),
                            headers))

    # -- control API ----------------------------------------------------------------------------
    def _control(self, action: str, raw: bytes) -> Response:
        from seedctl.sandbox import control_api

        try:
            data = json.loads(raw) if raw.strip() else {}
            return control_api.handle(self.server.app, self.command, action, data)
        except ArmError as err:
            return Response(err.status, err.body())
        except (ValueError, TypeError, KeyError) as exc:
            return Response(400, {"error": {"code": "BadControlRequest", "message": str(exc)}})
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            return Response(500, {"error": {"code": "ControlFailed", "message": f"{type(exc).__name__}: {exc}"}})
