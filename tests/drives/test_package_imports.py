"""The `seedctl.drives` package imports its submodules lazily: the plan's reader threads import
`seedctl.drives.placement.scan` (staging) and `seedctl.drives.writing.prepare` (drives) at the same time, and an
__init__ that imported every submodule deadlocked them (`_DeadlockError` on the scan module's lock,
seen when the staging read was moved to start first)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

RACE = textwrap.dedent("""
    import threading
    barrier = threading.Barrier(3)
    errors = []
    def imp(name):
        barrier.wait()
        try:
            __import__(name)
        except BaseException as exc:
            errors.append(repr(exc))
    threads = [threading.Thread(target=imp, args=(n,)) for n in
               ("seedctl.drives.placement.scan", "seedctl.drives.writing.prepare", "seedctl.drives.disk.identity")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(errors or "ok")
""")


def test_importing_one_submodule_does_not_import_the_others() -> None:
    code = ("import sys, seedctl.drives.placement.scan\n"
            "print(sorted(m for m in sys.modules if m.startswith('seedctl.drives.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "seedctl.drives.writing.prepare" not in out and "seedctl.drives.formats.journal" not in out, out


def test_the_public_names_resolve_and_allocate_is_the_function() -> None:
    import seedctl.drives as drives

    for name in drives.__all__:
        assert getattr(drives, name) is not None
    import seedctl.drives.placement.allocate  # noqa: F401 - the submodule import must not rebind the name
    from seedctl.drives import allocate

    assert callable(allocate) and allocate.__name__ == "allocate"


def test_concurrent_first_imports_of_submodules_do_not_deadlock() -> None:
    for _ in range(8):
        proc = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr
