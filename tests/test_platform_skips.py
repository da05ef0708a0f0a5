"""No POSIX-only test is left unmarked (issue 26): the Windows CI job runs the whole suite, so a test
that makes a FIFO, sends a POSIX signal, relies on permission bits, creates a symbolic link or runs
a /bin/sh stand-in must carry a skip for Windows with its reason (tests/platforms.py, or a
`skipif(os.name == "nt", reason=...)`), on the test or its module.

Read from the source: a test counts what its own body, the module's helper functions it calls and
the module's fixtures it takes use (conftest fixtures are not followed)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent
POSIX_ONLY = {
    "mkfifo": "os.mkfifo", "symlink": "os.symlink", "symlink_to": "Path.symlink_to", "AF_UNIX": "AF_UNIX",
    "geteuid": "os.geteuid", "SIGKILL": "signal.SIGKILL", "pthread_sigmask": "pthread_sigmask",
    "without_dac_override": "permission bits", "killpg": "os.killpg", "umask": "os.umask",
}
MARK_NAMES = {"SIGNALS", "FIFOS", "MODES", "SYMLINKS", "SHELL_STAND_INS", "LINUX_PROBE", "OPEN_FOLDER_RENAME",
              "posix_only", "posix_names", "loopdev"}
# portable on purpose (each says how it runs on Windows)
PORTABLE = {
    ("sandbox/test_lifecycle.py", "test_a_killed_daemon_leaves_no_azurite_behind"):
        "getattr(signal, 'SIGKILL', signal.SIGTERM): os.kill is TerminateProcess on Windows",
    ("drives/test_drive_lock.py", "test_the_lock_is_not_taken_through_a_planted_link"):
        "skips itself when the link cannot be made",
    ("test_platform_skips.py", None): "reads source only",
}


def _marked(decorators: list[ast.expr], source: str) -> bool:
    for dec in decorators:
        text = ast.get_source_segment(source, dec) or ""
        if any(name in text for name in MARK_NAMES):
            return True
        if "skipif" in text and ('os.name == "nt"' in text or "sys.platform" in text or "pthread_sigmask" in text
                                 or 'hasattr(signal' in text):
            return True
    return False


def _uses(node: ast.AST, source: str) -> set[str]:
    found = set()
    for sub in ast.walk(node):
        name = sub.attr if isinstance(sub, ast.Attribute) else sub.id if isinstance(sub, ast.Name) else None
        if name in POSIX_ONLY:
            found.add(POSIX_ONLY[name])
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and sub.value.startswith("#!/bin/sh"):
            found.add("a /bin/sh stand-in")
        if isinstance(sub, ast.Call) and getattr(sub.func, "attr", "") in ("chmod",) and sub.args:
            arg = sub.args[-1]
            if isinstance(arg, ast.Constant) and arg.value == 0:
                found.add("chmod 0")
    if "getattr(signal" in (ast.get_source_segment(source, node) or ""):
        found.discard("signal.SIGKILL")
    return found


def _module_marked(tree: ast.Module, source: str) -> bool:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in node.targets):
            return _marked([node.value], source) or _marked(list(getattr(node.value, "elts", [])), source)
    return False


def unmarked() -> list[str]:
    problems = []
    for path in sorted(TESTS.rglob("test_*.py")):
        rel = path.relative_to(TESTS).as_posix()
        if (rel, None) in PORTABLE:
            continue
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        if _module_marked(tree, source):
            continue
        functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        for name, node in functions.items():
            if not name.startswith("test_") or (rel, name) in PORTABLE or _marked(node.decorator_list, source):
                continue
            used = _uses(node, source)
            called = {c.func.id for c in ast.walk(node) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
            params = {a.arg for a in node.args.args}
            for helper in (called | params) & set(functions):
                if not helper.startswith("test_"):
                    used |= _uses(functions[helper], source)
            if used:
                problems.append(f"{rel}::{name} uses {', '.join(sorted(used))} without a Windows skip")
    return problems


def test_every_posix_only_test_says_why_windows_skips_it() -> None:
    assert unmarked() == []


def test_the_check_sees_an_unmarked_one(tmp_path: Path, monkeypatch) -> None:
    """The check is not vacuous: an unmarked FIFO test is reported, a marked one is not."""
    (tmp_path / "test_x.py").write_text("import os\n\ndef make(p):\n    os.mkfifo(p)\n\n"
                                        "def test_a(tmp_path):\n    make(tmp_path / 'f')\n\n"
                                        "@FIFOS\ndef test_b(tmp_path):\n    os.mkfifo(tmp_path / 'f')\n")
    monkeypatch.setattr(__import__(__name__), "TESTS", tmp_path)
    assert unmarked() == ["test_x.py::test_a uses os.mkfifo without a Windows skip"]
