"""The Makefile's targets for machines without `make` (Windows): `py dev.py install|demo|test|lint`.

Why a script at the top of the clone, and not `python -m seedctl.dev` or a noxfile: it has to work
*before* anything is installed (seedctl is not importable yet, and nox would be one more thing to
install first), with nothing but the Python that creates the venv. It runs the same steps as the
Makefile, in the same order, into the same .venv/ and node_modules/.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed"
INPUTS = ("pyproject.toml", "package.json", "package-lock.json")


def run(*cmd: str | Path) -> None:
    print("+ " + " ".join(str(c) for c in cmd), flush=True)
    done = subprocess.run([str(c) for c in cmd], cwd=ROOT, shell=False)
    if done.returncode:
        sys.exit(done.returncode)


def npm() -> str:
    return "npm.cmd" if os.name == "nt" else "npm"


def install() -> None:
    """= make install: the venv, seedctl with its test tools, and Azurite from package-lock.json."""
    newest = max((ROOT / name).stat().st_mtime for name in INPUTS)
    if STAMP.exists() and STAMP.stat().st_mtime >= newest:
        return
    if not PY.exists():
        run(sys.executable, "-m", "venv", VENV)
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PY, "-m", "pip", "install", "--quiet", "-e", ".[test]")
    run(npm(), "ci", "--no-audit", "--no-fund", "--loglevel=error")
    STAMP.touch()


def lint() -> None:
    run(BIN / "ruff", "check", "seedctl", "tests", "benchmarks")


def main(argv: list[str]) -> int:
    targets = {"install": [install], "demo": [install, lambda: run(PY, "-m", "seedctl.demo")],
               "test": [install, lint, lambda: run(PY, "-m", "pytest", "-n", "2", "-q")],
               "lint": [install, lint]}
    if len(argv) != 1 or argv[0] not in targets:
        print(f"usage: python dev.py {{{','.join(targets)}}}  (the Makefile's targets, without make)",
              file=sys.stderr)
        return 1
    for step in targets[argv[0]]:
        step()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
