"""Azurite (the official Azure Storage emulator, blob service) for the sandbox.

Azurite reads its account list from AZURITE_ACCOUNTS once at start (and re-reads the same, frozen
variable every minute). The sandbox creates storage accounts while running, so instead of
restarting Azurite for each one we start its blob server through a few lines of JavaScript that
re-read an accounts file whenever it changes, just before Azurite looks an account up. A new
account is usable as soon as the file is replaced; data is kept under the sandbox folder.

Azurite never outlives the sandbox daemon: its stdin is a pipe that only the daemon holds, and the
launcher shuts Azurite down (as on SIGTERM: its metadata is saved) when that pipe ends. However
the daemon ends (stopped, killed, its console closed), the pipe closes; this works alike on Windows,
where there is no SIGTERM and killing the daemon would otherwise orphan the node process.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

from seedctl.errors import SandboxError
from seedctl.private_files import write_private
from seedctl.sandbox.data_access import LAUNCHER_JS as DATA_ACCESS_JS

# Azurite's well-known development account, kept so emulator tooling works out of the box.
DEV_ACCOUNT = ("devstoreaccount1",
               "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")

LAUNCHER_JS = r"""'use strict';
// Written by seedctl's sandbox. Starts Azurite's blob server unchanged, except that the account
// list is re-read from SEEDCTL_AZURITE_ACCOUNTS_FILE whenever that file changes.
const fs = require('fs');
const path = require('path');
const root = process.env.SEEDCTL_AZURITE_ROOT;
const accountsFile = process.env.SEEDCTL_AZURITE_ACCOUNTS_FILE;
const Store = require(path.join(root, 'dist/src/common/AccountDataStore.js')).default;
const originalGet = Store.prototype.getAccount;
Store.prototype.getAccount = function (name) {
  try {
    const st = fs.statSync(accountsFile);
    const stamp = st.ino + ':' + st.mtimeMs + ':' + st.size;
    if (stamp !== this.__seedctlStamp) {
      process.env.AZURITE_ACCOUNTS = fs.readFileSync(accountsFile, 'utf8').trim();
      this.__seedctlStamp = stamp;
      this.refresh();
    }
  } catch (err) { /* keep the accounts already known */ }
  return originalGet.call(this, name);
};
// Azurite's metadata queries name the account first ({accountName, containerName, name}); LokiJS
// answers an implicit $and through the index of the first key only and scans the rest, so every
// request scanned every blob of the account (quadratic in blobs: 50k files took hours). The same
// $and with the selective keys first is the same query, answered through the name index.
const loki = require(require.resolve('lokijs', { paths: [root] }));
const SELECTIVE = ['name', 'blobName'];
const originalFind = loki.Resultset.prototype.find;
loki.Resultset.prototype.find = function (query, firstOnly) {
  if (query && typeof query === 'object' && !Array.isArray(query)) {
    const keys = Object.keys(query);
    const first = keys.filter((k) => SELECTIVE.includes(k) && typeof query[k] === 'string');
    if (keys.length > 1 && first.length && keys[0] !== first[0]) {
      const ordered = {};
      for (const k of first) ordered[k] = query[k];
      for (const k of keys) if (!(k in ordered)) ordered[k] = query[k];
      query = ordered;
    }
  }
  return originalFind.call(this, query, firstOnly);
};
// Azurite saves its whole metadata database every 5 s while anything changed: at 100k blobs each
// save serialises tens of MB, so an import spends more time saving than importing (quadratic in
// blobs). Every 60 s instead; Azurite still saves on SIGTERM (`seedctl sandbox down`), so only a
// sandbox killed with SIGKILL loses up to a minute of blob metadata.
const originalConfigure = loki.prototype.configureOptions;
loki.prototype.configureOptions = function (options, initialConfig) {
  if (options && options.autosave && options.autosaveInterval === 5000) {
    options = Object.assign({}, options, { autosaveInterval: 60000 });
  }
  return originalConfigure.call(this, options, initialConfig);
};
// Azurite matches every request against every operation's URI template, parsing each template
// again each time (a tenth of its CPU in an import). The parsed templates are kept instead.
const templatesPath = require.resolve('uri-templates', { paths: [root] });
const parseTemplate = require(templatesPath);
const parsedTemplates = new Map();
const cachedTemplate = function (template) {
  let parsed = parsedTemplates.get(template);
  if (parsed === undefined) {
    parsed = parseTemplate(template);
    parsedTemplates.set(template, parsed);
  }
  return parsed;
};
Object.assign(cachedTemplate, parseTemplate);
require.cache[templatesPath].exports = cachedTemplate;
// The sandbox daemon holds our stdin open and never writes to it: its end means the daemon ended.
// Then shut down as on SIGTERM (Azurite's handler saves its metadata), or at once if Azurite has
// not started listening yet (nothing to save).
if (process.env.SEEDCTL_AZURITE_FOLLOW_STDIN === '1') {
  process.stdin.on('data', () => {});
  process.stdin.on('error', () => {});
  process.stdin.on('end', () => {
    process.stdin.destroy();
    if (process.listenerCount('SIGTERM') > 0) {
      process.emit('SIGTERM', 'SIGTERM');
    } else {
      process.exit(0);
    }
  });
  process.stdin.resume();
}
""" + DATA_ACCESS_JS + r"""
require(path.join(root, 'dist/src/blob/main.js'));
"""


def find_azurite_root(start: Path | None = None) -> Path:
    """node_modules/azurite of the project (installed by `make install` / `npm ci`)."""
    candidates = []
    if os.environ.get("SEEDCTL_AZURITE_ROOT"):
        candidates.append(Path(os.environ["SEEDCTL_AZURITE_ROOT"]))
    here = (start or Path(__file__)).resolve()
    candidates += [p / "node_modules" / "azurite" for p in [here, *here.parents]]
    candidates.append(Path.cwd() / "node_modules" / "azurite")
    for candidate in candidates:
        if (candidate / "dist" / "src" / "blob" / "main.js").exists():
            return candidate
    raise SandboxError("Azurite is not installed: run `make install` (or `npm ci`) in the seedctl "
                       "project folder, or set SEEDCTL_AZURITE_ROOT to node_modules/azurite")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AccountsFile:
    """The account list Azurite follows: `name:key1:key2;...`, replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        if not path.exists():
            self._write({DEV_ACCOUNT[0]: (DEV_ACCOUNT[1], DEV_ACCOUNT[1])})

    def _read(self) -> dict[str, tuple[str, str]]:
        accounts: dict[str, tuple[str, str]] = {}
        for item in self.path.read_text(encoding="utf-8").strip().split(";"):
            parts = item.split(":")
            if len(parts) >= 2:
                accounts[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else parts[1])
        return accounts

    def _write(self, accounts: dict[str, tuple[str, str]]) -> None:
        text = ";".join(f"{n}:{k1}:{k2}" for n, (k1, k2) in accounts.items())
        write_private(self.path, text.encode("utf-8"), error=SandboxError)  # it holds account keys

    def set(self, name: str, key1: str, key2: str) -> None:
        with self._lock:
            accounts = self._read()
            accounts[name] = (key1, key2)
            self._write(accounts)

    def remove(self, name: str) -> None:
        with self._lock:
            accounts = self._read()
            if accounts.pop(name, None) is not None:
                self._write(accounts)

    def reset(self) -> None:
        with self._lock:
            self._write({DEV_ACCOUNT[0]: (DEV_ACCOUNT[1], DEV_ACCOUNT[1])})


def start_azurite(directory: Path, port: int, log_path: Path, *,
                  public: tuple[int, Path, Path, Path] | None = None) -> subprocess.Popen:
    """Start Azurite's blob service on 127.0.0.1:port (telemetry off), data under directory.

    Its stdin is a pipe held by the caller: closing it (or the caller ending) stops Azurite.
    `public` = (HTTPS port, certificate, key, rules file): also serve the sandbox's public blob
    endpoint there, with Entra ID tokens accepted and the data-access refusals of
    seedctl/sandbox/data_access.py."""
    node = shutil.which("node")
    if node is None:
        raise SandboxError("Node.js (`node`) is not on PATH; the sandbox needs it to run Azurite")
    root = find_azurite_root()
    launcher = directory / "azurite-launcher.js"
    launcher.write_bytes(LAUNCHER_JS.encode("utf-8"))  # binary: the same bytes on every platform
    data = directory / "azurite"
    data.mkdir(parents=True, exist_ok=True)
    accounts = AccountsFile(directory / "azurite-accounts")
    env = dict(os.environ, SEEDCTL_AZURITE_ROOT=str(root), SEEDCTL_AZURITE_ACCOUNTS_FILE=str(accounts.path),
               AZURITE_ACCOUNTS=accounts.path.read_text(encoding="utf-8").strip(), SEEDCTL_AZURITE_FOLLOW_STDIN="1")
    # Azurite flushes every block it stores (fdatasync) on libuv's thread pool, 4 threads by
    # default: with the datacenter's 8 parallel imports, more flushes can wait at once.
    env.setdefault("UV_THREADPOOL_SIZE", "16")
    args = [node, str(launcher), "--blobHost", "127.0.0.1", "--blobPort", str(port),
            "--location", str(data), "--disableTelemetry", "--skipApiVersionCheck", "--silent"]
    if public is not None:
        https_port, cert, key, rules = public
        env.update(SEEDCTL_AZURITE_HTTPS_PORT=str(https_port), SEEDCTL_AZURITE_TLS_CERT=str(cert),
                   SEEDCTL_AZURITE_TLS_KEY=str(key), SEEDCTL_AZURITE_RULES_FILE=str(rules))
        args += ["--oauth", "basic"]  # bearer tokens (HTTPS only, so on the public endpoint only)
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed with it
    try:
        return subprocess.Popen(args, env=env, stdin=subprocess.PIPE, stdout=log,
                                stderr=subprocess.STDOUT, cwd=str(directory))
    finally:
        log.close()


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SandboxError(f"Azurite exited at start (code {proc.returncode}); see azurite.log "
                               "in the sandbox folder")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SandboxError(f"Azurite did not listen on 127.0.0.1:{port} within {timeout:.0f} s")
