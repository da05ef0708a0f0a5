"""The sandbox's files are written the same way on every platform (issue 26).

On Windows a descriptor from os.open without O_BINARY is in text mode: every "\\n" written becomes
"\\r\\n" (a text-mode stream on top adds a second "\\r"), and os.O_NOFOLLOW / os.fchmod do not exist
(before 3.13). The sandbox writes its files through private_files (binary, private, atomic) or as
bytes; this test keeps it that way by reading its source."""

from __future__ import annotations

import ast
from pathlib import Path

import seedctl.sandbox

SANDBOX = Path(seedctl.sandbox.__file__).parent
POSIX_ONLY = {"O_NOFOLLOW", "fchmod", "killpg", "SIGKILL", "getpgid", "setsid"}


def calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def name_of(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def test_no_text_mode_writes_and_no_posix_only_names_unguarded() -> None:
    problems = []
    for path in sorted(SANDBOX.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        for call in calls(tree):
            where = f"{path.name}:{call.lineno}"
            if name_of(call) == "open" and isinstance(call.func, ast.Attribute) \
                    and "BINARY" not in (ast.get_source_segment(source, call) or ""):
                problems.append(f"{where}: os.open without O_BINARY")
            if name_of(call) in ("write_text", "fdopen"):
                problems.append(f"{where}: {name_of(call)} (text mode; write bytes)")
            if name_of(call) == "open" and isinstance(call.func, ast.Name) and len(call.args) > 1:
                mode = call.args[1]
                if isinstance(mode, ast.Constant) and "w" in str(mode.value) and "b" not in str(mode.value):
                    problems.append(f"{where}: open(..., {mode.value!r}) (text mode; write bytes)")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in POSIX_ONLY:  # getattr(os, "...", 0) is fine
                problems.append(f"{path.name}:{node.lineno}: {ast.get_source_segment(source, node)} (POSIX only)")
    # the POSIX branch of the daemon's tree stop is the one allowed place (lifecycle._kill_group_posix)
    allowed = [p for p in problems if p.startswith("lifecycle.py") and ("killpg" in p or "SIGKILL" in p)]
    assert [p for p in problems if p not in allowed] == []
    assert allowed, "the check no longer sees lifecycle's POSIX branch: is it still reading the source?"
