"""Who may reach a sandbox storage account's blobs, and how: the storage service's data-plane
refusals, enforced by Azurite's launcher on the sandbox's public (HTTPS) blob endpoint.

The sandbox has two ways into Azurite:
- the **public endpoint** (`https://127.0.0.1:PORT/<account>`, what ARM's `primaryEndpoints.blob`
  answers, what seedctl uses): HTTPS, account keys *and* Entra ID bearer tokens (Azurite's
  `--oauth basic`: a well-formed token for the storage audience from an Entra issuer; Azurite
  accepts bearer tokens over HTTPS only), and the refusals below;
- the **internal endpoint** (`http://127.0.0.1:PORT`, in the connection file as `blob_endpoint`):
  account keys only, no refusals. The sandbox itself (containers through ARM, the simulated
  datacenter, which plays the import service and its trusted-service access) goes this way.

The refusals, per account, in the answers the real service gives (docs/sandbox.md, fidelity table):
- `noSharedKey`: the account's `allowSharedKeyAccess` is false: a SharedKey request is answered
  403 `KeyBasedAuthenticationNotPermitted`;
- `noDataRole`: the sandbox's identity has no Storage Blob Data role on the account (set through
  the control API, `SandboxControl.set_data_role`): a bearer request is answered 403
  `AuthorizationPermissionMismatch`;
- `networkDenied`: the account's `networkAcls.defaultAction` is Deny and 127.0.0.1 is not in its
  `ipRules`: every request is answered 403 `AuthorizationFailure`.

`AuthRules` writes the rules file; the launcher re-reads it whenever it changes.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from seedctl.errors import SandboxError
from seedctl.private_files import write_private

RULE_KINDS = ("noSharedKey", "noDataRole", "networkDenied")
RULES_FILE = "azurite-auth-rules.json"

# Appended to Azurite's launcher (azurite.py), before Azurite's main module is required.
LAUNCHER_JS = r"""
// seedctl: the storage service's data-plane refusals on the public (HTTPS) endpoint, per account,
// from SEEDCTL_AZURITE_RULES_FILE (seedctl/sandbox/data_access.py).
const rulesFile = process.env.SEEDCTL_AZURITE_RULES_FILE;
let rules = { stamp: null, noSharedKey: new Set(), noDataRole: new Set(), networkDenied: new Set() };
const currentRules = function () {
  try {
    const st = fs.statSync(rulesFile);
    const stamp = st.ino + ':' + st.mtimeMs + ':' + st.size;
    if (stamp !== rules.stamp) {
      const data = JSON.parse(fs.readFileSync(rulesFile, 'utf8'));
      rules = { stamp: stamp, noSharedKey: new Set(data.noSharedKey || []),
                noDataRole: new Set(data.noDataRole || []), networkDenied: new Set(data.networkDenied || []) };
    }
  } catch (err) { /* no rules file yet: no refusals */ }
  return rules;
};
const StorageError = require(path.join(root, 'dist/src/blob/errors/StorageError.js')).default;
const BlobStorageContext = require(path.join(root, 'dist/src/blob/context/BlobStorageContext.js')).default;
const refuse = function (context, code, message) {
  throw new StorageError(403, code, message, context.contextId);
};
const publicRequest = function (req) { return rulesFile && req.getProtocol() === 'https'; };
const SharedKeyAuth = require(path.join(root, 'dist/src/blob/authentication/BlobSharedKeyAuthenticator.js')).default;
const originalSharedKey = SharedKeyAuth.prototype.validate;
SharedKeyAuth.prototype.validate = async function (req, context) {
  const header = req.getHeader('authorization') || '';
  if (publicRequest(req)) {
    const account = new BlobStorageContext(context).account;
    const current = currentRules();
    if (current.networkDenied.has(account)) {
      refuse(context, 'AuthorizationFailure', 'This request is not authorized to perform this operation.');
    }
    if (header.startsWith('SharedKey') && current.noSharedKey.has(account)) {
      refuse(context, 'KeyBasedAuthenticationNotPermitted',
             'Key based authentication is not permitted on this storage account.');
    }
  }
  return originalSharedKey.call(this, req, context);
};
const TokenAuth = require(path.join(root, 'dist/src/blob/authentication/BlobTokenAuthenticator.js')).default;
const originalToken = TokenAuth.prototype.validate;
TokenAuth.prototype.validate = async function (req, context) {
  const passed = await originalToken.call(this, req, context);
  if (passed === true && publicRequest(req)) {
    const account = new BlobStorageContext(context).account;
    if (currentRules().noDataRole.has(account)) {
      refuse(context, 'AuthorizationPermissionMismatch',
             'This request is not authorized to perform this operation using this permission.');
    }
  }
  return passed;
};
// The public endpoint: an HTTPS twin of Azurite's HTTP server, answered by the same request
// listener (so the same data), on SEEDCTL_AZURITE_HTTPS_PORT with the sandbox's certificate.
const http = require('http');
const https = require('https');
const httpsPort = parseInt(process.env.SEEDCTL_AZURITE_HTTPS_PORT || '0', 10);
if (httpsPort) {
  const originalCreateServer = http.createServer;
  http.createServer = function () {
    const server = originalCreateServer.apply(this, arguments);
    http.createServer = originalCreateServer;  // only Azurite's own server gets a twin
    const twin = https.createServer({ cert: fs.readFileSync(process.env.SEEDCTL_AZURITE_TLS_CERT),
                                      key: fs.readFileSync(process.env.SEEDCTL_AZURITE_TLS_KEY) });
    const originalOn = server.on;
    server.on = function (event, listener) {
      if (event === 'request') { twin.removeAllListeners('request'); twin.on('request', listener); }
      return originalOn.apply(this, arguments);
    };
    const originalListen = server.listen;
    server.listen = function (port, host) {
      twin.listen(httpsPort, host);
      return originalListen.apply(this, arguments);
    };
    server.on('close', function () { twin.close(); twin.closeAllConnections(); });
    return server;
  };
}
"""


class AuthRules:
    """The per-account refusals the launcher enforces, in one JSON file replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def read(self) -> dict[str, set[str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        return {kind: set(data.get(kind) or ()) for kind in RULE_KINDS}

    def _write(self, rules: dict[str, set[str]]) -> None:
        data = json.dumps({kind: sorted(names) for kind, names in rules.items()}).encode("utf-8")
        write_private(self.path, data, error=SandboxError)  # binary, private, atomic on every platform

    def set(self, kind: str, account: str, on: bool) -> None:
        """Turn one refusal on or off for one account."""
        if kind not in RULE_KINDS:
            raise ValueError(f"unknown data-access rule {kind!r}; one of {', '.join(RULE_KINDS)}")
        with self._lock:
            rules = self.read()
            if (account in rules[kind]) == on:
                return
            (rules[kind].add if on else rules[kind].discard)(account)
            self._write(rules)

    def forget(self, account: str) -> None:
        """An account deleted: a new one of that name starts without refusals."""
        with self._lock:
            rules = self.read()
            if any(account in names for names in rules.values()):
                self._write({kind: names - {account} for kind, names in rules.items()})

    def reset(self) -> None:
        with self._lock:
            self._write({kind: set() for kind in RULE_KINDS})


def account_rules(properties: dict) -> dict[str, bool]:
    """The refusals an account's own properties call for (the data role is set separately)."""
    acls = properties.get("networkAcls") or {}
    allowed_ips = {str(rule.get("value") or rule.get("iPAddressOrRange") or "")
                   for rule in acls.get("ipRules") or [] if isinstance(rule, dict)}
    return {
        "noSharedKey": properties.get("allowSharedKeyAccess") is False,
        "networkDenied": str(acls.get("defaultAction") or "Allow").lower() == "deny"
        and not ({"127.0.0.1", "127.0.0.0/8"} & allowed_ips),
    }
