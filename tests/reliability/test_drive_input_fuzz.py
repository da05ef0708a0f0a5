"""Property-based fuzzing of what seedctl reads from a drive (issue 13): the journal and the
sandbox drive marker, mutated byte by byte and field by field.

For every mutation, each reader and writer that takes them as input — `read_journal`,
`read_drive_state` and `inspect_drive` (what `plan` calls), `verify_drive`, and `prepare_drive`
(what `apply` calls, which deletes and writes) — either works or raises a SeedctlError: never
another exception (a traceback for the user). And nothing outside the drive changes: a victim
folder beside it, reachable through `..`, an absolute path or a symbolic link planted on the drive,
is compared entry by entry, with content hashes, before and after.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seedctl.drives import (
    create_simulated_drive,
    inspect_drive,
    prepare_drive,
    read_drive_state,
    scan_staging,
)
from seedctl.drives.formats.journal import _encode, read_journal
from seedctl.drives.formats.layout import SIM_MARKER, journal_path
from seedctl.drives.writing.verify import verify_drive
from seedctl.errors import SeedctlError

from platforms import SYMLINKS

pytestmark = [pytest.mark.reliability, SYMLINKS]
# each example copies and prepares a small drive (~0.1 s), so the default is a third of the other fuzzers
EXAMPLES = int(os.environ.get("SEEDCTL_FUZZ_EXAMPLES", "300")) // 3
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
OWNER = "spec/job"
SERIAL = "SIM-FUZZ"
FILES = {"a/one.bin": b"1" * 3000, "a/two.bin": b"2" * 100, "b/c/three.txt": b"three\n", "empty.dat": b"",
         "gone.bin": b"gone" * 10}


def _snapshot(root: Path, skip: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        if Path(folder) == skip:
            dirs[:] = []
            continue
        for name in dirs + files:
            path = Path(folder, name)
            if path == skip:
                continue
            if path.is_symlink():
                out[str(path)] = "link:" + os.readlink(path)
            elif path.is_file():
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                out[str(path)] = "dir" if path.is_dir() else "other"
    return out


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """staging/, victim/ and drive/ (prepared; its journal holds every record type; seed/lnk leads
    to victim/ as an attacker would plant it)."""
    root = tmp_path_factory.mktemp("fuzz-template")
    staging = root / "staging"
    for rel, data in FILES.items():
        (staging / rel).parent.mkdir(parents=True, exist_ok=True)
        (staging / rel).write_bytes(data)
    victim = root / "victim"
    (victim / "tmp").mkdir(parents=True)
    (victim / "precious.txt").write_bytes(b"precious\n")
    (victim / "tmp" / "precious2.txt").write_bytes(b"precious too\n")
    drive = root / "drive"
    create_simulated_drive(drive, SERIAL, 1 << 30)
    files = scan_staging(staging, container="backup", prefix="p").files
    prepare_drive(drive, SERIAL, files, staging, owner_id=OWNER, allow_simulated=True)
    prepare_drive(drive, SERIAL, [f for f in files if f.rel_path != "gone.bin"], staging, owner_id=OWNER,
                  allow_simulated=True)  # a removed record, and a second manifest record
    with open(journal_path(drive), "ab") as fh:  # a file in flight at a crash
        fh.write(_encode({"t": "pending", "rels": ["b/c/three.txt"]}))
    (drive / "seed" / "lnk").symlink_to(Path("..", "..", "victim"), target_is_directory=True)
    return root


def _exercise(root: Path) -> None:
    """Every drive reader and writer; a SeedctlError is a fine answer, anything else fails the test."""
    drive, staging = root / "drive", root / "staging"
    files = [f for f in scan_staging(staging, container="backup", prefix="p").files if f.rel_path != "gone.bin"]
    calls = [
        lambda: read_journal(drive),
        lambda: read_drive_state(drive),
        lambda: inspect_drive(drive, SERIAL, allow_simulated=True),
        lambda: verify_drive(drive),
        lambda: prepare_drive(drive, SERIAL, files, staging, owner_id=OWNER, allow_simulated=True),
        lambda: verify_drive(drive),
    ]
    for call in calls:
        try:
            call()
        except SeedctlError:
            pass


def _run(template: Path, mutate) -> None:
    base = Path(tempfile.mkdtemp(prefix="seedctl-fuzz-"))
    try:
        root = base / "w"
        shutil.copytree(template, root, symlinks=True)
        mutate(root)
        before = _snapshot(base, skip=root / "drive")
        _exercise(root)
        assert _snapshot(base, skip=root / "drive") == before, "something outside the drive changed"
    finally:
        shutil.rmtree(base, ignore_errors=True)


# values a hostile or damaged record may carry, the paths aimed at the victim folder included
HOSTILE_PATHS = ["../victim/precious.txt", "../../victim/precious.txt", "lnk/precious.txt", "lnk/tmp",
                 "a/../../victim/precious.txt", "..", ".", "", "lnk", "/ABS/victim/precious.txt",
                 "\\..\\..\\victim\\precious.txt", "C:\\victim", "a\x00b", "\ud800", "seed/../../victim"]
VALUES = st.one_of(
    st.sampled_from(HOSTILE_PATHS),
    st.text(max_size=20),
    st.integers(), st.integers(min_value=-(1 << 70), max_value=1 << 70), st.booleans(), st.none(),
    st.floats(allow_nan=True), st.lists(st.sampled_from(HOSTILE_PATHS), max_size=3),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(["A" * 32, "a" * 32, "0" * 8, "file", "pending", "removed", "manifest", "begin"]),
)


def _absolute(value: object, root: Path) -> object:
    if isinstance(value, str):
        return value.replace("/ABS/victim", str(root / "victim"))
    if isinstance(value, list):
        return [_absolute(v, root) for v in value]
    return value


@FUZZ
@given(data=st.data())
def test_journal_fields_mutated(template, data):
    """One field of one record replaced (or removed, or added), the CRC recomputed so the schema,
    not the checksum, has to catch it."""
    lines = journal_path(template / "drive").read_bytes().splitlines()
    index = data.draw(st.integers(0, len(lines) - 1), label="line")
    record = json.loads(lines[index])["r"]
    keys = sorted(record) + ["t", "rel", "rels", "extra"]
    key = data.draw(st.sampled_from(keys), label="field")
    action = data.draw(st.sampled_from(["replace", "delete"]), label="action")
    value = data.draw(VALUES, label="value")

    def mutate(root: Path) -> None:
        rec = dict(record)
        if action == "delete":
            rec.pop(key, None)
        else:
            rec[key] = _absolute(value, root)
        try:
            line = _encode(rec).rstrip(b"\n")
        except UnicodeEncodeError:  # a lone surrogate: what a damaged disk gives is bytes, not text
            line = json.dumps({"c": 0, "r": rec}).encode()
        new = lines[:index] + [line] + lines[index + 1:]
        journal_path(root / "drive").write_bytes(b"\n".join(new) + b"\n")

    _run(template, mutate)


@FUZZ
@given(data=st.data())
def test_journal_records_added(template, data):
    """Whole hostile records appended (with valid CRCs): pending and removed paths aimed outside,
    file records claiming files that are not there or are links."""
    kind = data.draw(st.sampled_from(["pending", "removed", "file", "manifest", "begin"]), label="kind")
    path = data.draw(st.sampled_from(HOSTILE_PATHS + ["a/one.bin", "gone.bin", "lnk/precious.txt"]), label="path")
    size = data.draw(st.sampled_from([0, 9, 10, 3000, -1, 1 << 63]), label="size")

    def mutate(root: Path) -> None:
        rel = _absolute(path, root)
        rec = {"pending": {"t": "pending", "rels": [rel]}, "removed": {"t": "removed", "rel": rel},
               "file": {"t": "file", "rel": rel, "blob": f"backup/p/{rel}", "fp": "\\seed\\" + str(rel).replace(
                   "/", "\\"), "size": size, "mtime_ns": 1, "md5": "A" * 32, "bs": 4 << 20,
                   "blocks": ["A" * 32] * (1 if size > 0 else 0), "dst_mtime_ns": 1},
               "manifest": {"t": "manifest", "hash": "A" * 32, "files": size, "bytes": size, "set": "0" * 8,
                            "size": size, "mtime_ns": 1},
               "begin": {"t": "begin", "v": 1, "owner": OWNER, "serial": SERIAL}}[kind]
        try:
            line = _encode(rec)
        except UnicodeEncodeError:
            line = json.dumps({"c": 0, "r": rec}).encode() + b"\n"
        with open(journal_path(root / "drive"), "ab") as fh:
            fh.write(line)

    _run(template, mutate)


@FUZZ
@given(data=st.data())
def test_journal_bytes_mutated(template, data):
    """Bytes overwritten, inserted or deleted anywhere (a damaged disk, a careless edit)."""
    size = len(journal_path(template / "drive").read_bytes())
    at = data.draw(st.integers(0, size), label="offset")
    action = data.draw(st.sampled_from(["overwrite", "insert", "delete", "truncate"]), label="action")
    junk = data.draw(st.binary(min_size=1, max_size=8), label="bytes")

    def mutate(root: Path) -> None:
        path = journal_path(root / "drive")
        raw = path.read_bytes()
        if action == "overwrite":
            raw = raw[:at] + junk + raw[at + len(junk):]
        elif action == "insert":
            raw = raw[:at] + junk + raw[at:]
        elif action == "delete":
            raw = raw[:at] + raw[at + len(junk):]
        else:
            raw = raw[:at]
        path.write_bytes(raw)

    _run(template, mutate)


@FUZZ
@given(data=st.data())
def test_marker_mutated(template, data):
    """The sandbox drive marker, by field and by byte."""
    marker = json.loads((template / "drive" / SIM_MARKER).read_text())
    how = data.draw(st.sampled_from(["field", "delete-field", "bytes", "whole"]), label="how")
    key = data.draw(st.sampled_from(["kind", "serial", "capacity", "extra"]), label="field")
    value = data.draw(VALUES, label="value")
    at = data.draw(st.integers(0, 80), label="offset")
    junk = data.draw(st.binary(min_size=1, max_size=6), label="bytes")
    whole = data.draw(st.sampled_from([b"[1, 2]", b"null", b"7", b'"x"', b"", b"{}", b"[" * 5000, b"\xff"]),
                      label="document")

    def mutate(root: Path) -> None:
        path = root / "drive" / SIM_MARKER
        if how == "field":
            raw = json.dumps({**marker, key: value}).encode("utf-8", "surrogatepass")
        elif how == "delete-field":
            raw = json.dumps({k: v for k, v in marker.items() if k != key}).encode()
        elif how == "bytes":
            raw = path.read_bytes()
            raw = raw[:at] + junk + raw[at + len(junk):]
        else:
            raw = whole
        path.write_bytes(raw)

    _run(template, mutate)


def test_unmutated_template_prepares_cleanly(template):
    """The fuzz starts from a drive that works: the checks above are not passing vacuously."""
    base = Path(tempfile.mkdtemp(prefix="seedctl-fuzz-"))
    try:
        root = base / "w"
        shutil.copytree(template, root, symlinks=True)
        (root / "drive" / "seed" / "lnk").unlink()
        files = [f for f in scan_staging(root / "staging", container="backup", prefix="p").files
                 if f.rel_path != "gone.bin"]
        result = prepare_drive(root / "drive", SERIAL, files, root / "staging", owner_id=OWNER,
                               allow_simulated=True)
        assert result.files == 4 and result.files_copied == 1  # the file in flight was redone
        assert verify_drive(root / "drive").ok
    finally:
        shutil.rmtree(base, ignore_errors=True)
