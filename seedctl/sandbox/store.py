"""The sandbox's state in SQLite: resources, provider registrations, long-running operations,
registered drives and settings. One file in the sandbox folder, so state survives restarts.

ARM resource ids are case-insensitive, so rows are keyed by the lower-cased id and keep the id as
first written. One connection guarded by a re-entrant lock: the server holds `lock` around each
request's read-modify-write, which makes concurrent requests safe without SQLite busy errors.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seedctl.errors import SandboxError
from seedctl.private_files import create_private, make_private, refuse_link_or_special
from seedctl.private_files import private_dir as make_private_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
  key TEXT PRIMARY KEY, id TEXT NOT NULL, type TEXT NOT NULL, sub TEXT NOT NULL, rg TEXT,
  body TEXT NOT NULL, secret TEXT, seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS resources_type ON resources(type, sub, rg);
CREATE TABLE IF NOT EXISTS providers (
  sub TEXT NOT NULL, ns TEXT NOT NULL, state TEXT NOT NULL, ready_at REAL,
  PRIMARY KEY (sub, ns)
);
CREATE TABLE IF NOT EXISTS operations (
  op_id TEXT PRIMARY KEY, resource_key TEXT NOT NULL, ready_at REAL NOT NULL,
  outcome TEXT NOT NULL, error TEXT, done INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS drives (
  serial TEXT PRIMARY KEY, path TEXT NOT NULL, bitlocker_key TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass
class Row:
    id: str
    type: str
    body: dict[str, Any]
    secret: dict[str, Any]


@dataclass
class Operation:
    op_id: str
    resource_key: str
    ready_at: float
    outcome: str  # "Succeeded" | "Failed"
    error: dict[str, Any] | None
    done: bool


def private_dir(directory: Path) -> None:
    """The sandbox folder: private whatever the umask (0700, or on Windows the protected DACL, whose
    inheritable entries the files SQLite creates in it receive), also when it existed before
    (seedctl.private_files makes new folders private and leaves old ones)."""
    make_private_dir(directory, error=SandboxError)
    make_private(directory, error=SandboxError)


def _private_file(path: Path) -> None:
    """Create the database file private before SQLite opens it, so it is private from its first byte
    (SQLite gives the -wal and -shm files the database file's mode, less the umask: 0600 at most;
    on Windows they inherit the folder's protected DACL). An existing store from an older sandbox is
    made private too. Never through a symbolic link planted at its name."""
    try:
        os.close(create_private(path, error=SandboxError))
    except SandboxError:
        if not path.exists() and not path.is_symlink():
            raise
    refuse_link_or_special(path, SandboxError)
    make_private(path, error=SandboxError)
    for suffix in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        if side.exists() and not side.is_symlink():
            make_private(side, error=SandboxError)


class Store:
    def __init__(self, path: Path) -> None:
        self.lock = threading.RLock()
        private_dir(path.parent)
        _private_file(path)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self.lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _q(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self.lock:
            return self._db.execute(sql, args).fetchall()

    # -- resources ------------------------------------------------------------------------------
    def get(self, resource_id: str) -> Row | None:
        rows = self._q("SELECT id, type, body, secret FROM resources WHERE key = ?",
                       (resource_id.lower(),))
        if not rows:
            return None
        rid, rtype, body, secret = rows[0]
        return Row(rid, rtype, json.loads(body), json.loads(secret) if secret else {})

    def put(self, resource_id: str, rtype: str, sub: str, rg: str | None, body: dict[str, Any],
            secret: dict[str, Any] | None = None) -> None:
        key = resource_id.lower()
        with self.lock:
            existing = self._q("SELECT id, seq, secret FROM resources WHERE key = ?", (key,))
            if existing:
                first_id, seq, old_secret = existing[0]
                if secret is None and old_secret:
                    secret = json.loads(old_secret)
            else:
                first_id = resource_id
                seq = (self._q("SELECT COALESCE(MAX(seq), 0) + 1 FROM resources")[0][0])
            self._q("INSERT OR REPLACE INTO resources (key, id, type, sub, rg, body, secret, seq) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, first_id, rtype.lower(), sub.lower(), rg.lower() if rg else None,
                     json.dumps(body), json.dumps(secret) if secret else None, seq))

    def delete(self, resource_id: str) -> bool:
        key = resource_id.lower()
        with self.lock:
            found = bool(self._q("SELECT 1 FROM resources WHERE key = ?", (key,)))
            self._q("DELETE FROM resources WHERE key = ? OR key LIKE ? ESCAPE '\\'",
                    (key, _like_prefix(key + "/")))
            return found

    def list(self, rtype: str, sub: str | None = None, rg: str | None = None) -> list[Row]:
        sql = "SELECT id, type, body, secret FROM resources WHERE type = ?"
        args: list[Any] = [rtype.lower()]
        if sub is not None:
            sql += " AND sub = ?"
            args.append(sub.lower())
        if rg is not None:
            sql += " AND rg = ?"
            args.append(rg.lower())
        rows = self._q(sql + " ORDER BY seq", tuple(args))
        return [Row(i, t, json.loads(b), json.loads(s) if s else {}) for i, t, b, s in rows]

    def list_under(self, prefix: str) -> list[Row]:
        rows = self._q("SELECT id, type, body, secret FROM resources WHERE key LIKE ? ESCAPE '\\' "
                       "ORDER BY seq", (_like_prefix(prefix.lower().rstrip("/") + "/"),))
        return [Row(i, t, json.loads(b), json.loads(s) if s else {}) for i, t, b, s in rows]

    # -- provider registrations -----------------------------------------------------------------
    def provider_state(self, sub: str, namespace: str, default: str) -> str:
        rows = self._q("SELECT state, ready_at FROM providers WHERE sub = ? AND ns = ?",
                       (sub.lower(), namespace.lower()))
        if not rows:
            return default
        state, ready_at = rows[0]
        if state == "Registering" and ready_at is not None and time.time() >= ready_at:
            return "Registered"
        return state

    def set_provider_state(self, sub: str, namespace: str, state: str, ready_at: float | None) -> None:
        self._q("INSERT OR REPLACE INTO providers (sub, ns, state, ready_at) VALUES (?, ?, ?, ?)",
                (sub.lower(), namespace.lower(), state, ready_at))

    # -- long-running operations ----------------------------------------------------------------
    def add_operation(self, op: Operation) -> None:
        self._q("INSERT INTO operations (op_id, resource_key, ready_at, outcome, error, done) "
                "VALUES (?, ?, ?, ?, ?, 0)",
                (op.op_id, op.resource_key.lower(), op.ready_at, op.outcome,
                 json.dumps(op.error) if op.error else None))

    def get_operation(self, op_id: str) -> Operation | None:
        rows = self._q("SELECT op_id, resource_key, ready_at, outcome, error, done FROM operations "
                       "WHERE op_id = ?", (op_id,))
        if not rows:
            return None
        o = rows[0]
        return Operation(o[0], o[1], o[2], o[3], json.loads(o[4]) if o[4] else None, bool(o[5]))

    def pending_operations(self, resource_id: str) -> list[Operation]:
        rows = self._q("SELECT op_id FROM operations WHERE resource_key = ? AND done = 0",
                       (resource_id.lower(),))
        return [op for (op_id,) in rows if (op := self.get_operation(op_id))]

    def finish_operation(self, op_id: str) -> None:
        self._q("UPDATE operations SET done = 1 WHERE op_id = ?", (op_id,))

    # -- drives ---------------------------------------------------------------------------------
    def register_drive(self, serial: str, path: str, bitlocker_key: str) -> None:
        self._q("INSERT OR REPLACE INTO drives (serial, path, bitlocker_key) VALUES (?, ?, ?)",
                (serial, path, bitlocker_key))

    def drive(self, serial: str) -> tuple[str, str] | None:
        rows = self._q("SELECT path, bitlocker_key FROM drives WHERE serial = ?", (serial,))
        return (rows[0][0], rows[0][1]) if rows else None

    def drives(self) -> list[str]:
        return [r[0] for r in self._q("SELECT serial FROM drives ORDER BY serial")]

    # -- settings -------------------------------------------------------------------------------
    def setting(self, name: str, default: Any = None) -> Any:
        rows = self._q("SELECT value FROM settings WHERE name = ?", (name,))
        return json.loads(rows[0][0]) if rows else default

    def set_setting(self, name: str, value: Any) -> None:
        self._q("INSERT OR REPLACE INTO settings (name, value) VALUES (?, ?)", (name, json.dumps(value)))

    def reset(self) -> None:
        with self.transaction():
            for table in ("resources", "providers", "operations", "drives", "settings"):
                self._db.execute(f"DELETE FROM {table}")


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
