"""Command-line entry point: parsing, dispatch and exit codes only.

Each command lives in `seedctl/commands/<name>.py` and exposes `register(subparsers)`, which adds
its parser and sets `handler(args, env) -> int`. Logic stays in the library modules.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence

from seedctl import __version__
from seedctl.azure.errors import redact
from seedctl.env import Env
from seedctl.errors import ExitCode, SeedctlError
from seedctl.logs import configure as configure_logging

# Order is the order of `seedctl --help`.
COMMAND_MODULES = (
    "validate", "init", "schema", "plan", "show", "apply", "status", "verify", "repair", "destroy",
    "sandbox",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seedctl",
        description="Declarative plan/apply for Azure Backup offline seeding (Import/Export and Data Box disks).",
    )
    parser.add_argument("--version", action="version", version=f"seedctl {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"seedctl.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"seedctl.commands.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None, env: Env | None = None) -> int:
    env = env or Env()
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(env.stderr, verbose=args.verbose)
    if not getattr(args, "handler", None):
        parser.print_help(env.stderr)
        return ExitCode.ERROR
    try:
        return int(args.handler(args, env))
    except SeedctlError as exc:
        if args.verbose:
            env.stderr.write(redact("".join(traceback.format_exception(exc))))
        print(f"Error: {exc}", file=env.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("Interrupted.", file=env.stderr)
        return ExitCode.INTERRUPTED


def run() -> None:
    # Plans use "→" and "…"; a redirected stream on Windows defaults to a code page without them.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and (stream.encoding or "").lower() not in ("utf-8", "utf8"):
            stream.reconfigure(encoding="utf-8", errors="replace")
    sys.exit(main())


if __name__ == "__main__":
    run()
