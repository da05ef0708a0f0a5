"""The sandbox's SQLite store holds BitLocker keys and storage account keys: the database and its
-wal / -shm files are 0600 from their first byte and the folder 0700, whatever the umask
(issue 13 item 5)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from platforms import MODES

pytestmark = MODES

SCRIPT = """
import os, sys
from pathlib import Path
os.umask(0)
from seedctl.sandbox.store import Store
store = Store(Path(sys.argv[1]) / "sandbox.db")
store.register_drive("SER1", "/x", "111111-222222")
store.put("/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a",
          "Microsoft.Storage/storageAccounts", "s", "g", {"name": "a"}, {"key1": "secret"})
seen = {p.name: oct(p.stat().st_mode & 0o777) for p in Path(sys.argv[1]).iterdir()}
print(seen)
store.close()
"""


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_store_files_and_folder_are_private_under_umask_zero(tmp_path: Path) -> None:
    folder = tmp_path / "box"
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(folder)], capture_output=True, text=True, check=True)
    seen = eval(out.stdout)  # noqa: S307 - our own script's dict of names to modes
    # while the store was open, the WAL and the shared-memory file existed, and were private
    assert {"sandbox.db", "sandbox.db-wal", "sandbox.db-shm"} <= set(seen), seen
    assert all(mode == "0o600" for mode in seen.values()), seen
    assert _mode(folder) == 0o700


def test_an_older_world_readable_store_is_made_private(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    db = folder / "sandbox.db"
    db.write_bytes(b"")
    os.chmod(db, 0o644)
    subprocess.run([sys.executable, "-c", SCRIPT, str(folder)], capture_output=True, text=True, check=True)
    assert _mode(db) == 0o600 and _mode(folder) == 0o700


def test_a_running_sandbox_folder_is_private(sandbox) -> None:
    folder = Path(sandbox.dir)
    assert _mode(folder) == 0o700
    for name in ("sandbox.db", "sandbox.db-wal", "sandbox.db-shm", "token", "server-key.pem"):
        path = folder / name
        if path.exists():
            assert _mode(path) == 0o600, name
