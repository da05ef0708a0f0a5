"""`seedctl version`: the version, as `seedctl --version` prints it (az and kubectl spell it as a
command; both work)."""

from __future__ import annotations

import argparse

from seedctl.env import Env
from seedctl.errors import ExitCode


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "version", help="print seedctl's version",
        description="Print seedctl's version (the same line as `seedctl --version`); with --json, also the "
                    "Python version and platform, for bug reports.")
    parser.add_argument("--json", action="store_true", help="print a JSON object: seedctl, python, platform")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, env: Env) -> int:
    import json
    import platform
    import sys

    from seedctl import __version__

    if args.json:
        env.stdout.write(json.dumps({"seedctl": __version__, "python": platform.python_version(),
                                     "platform": sys.platform}, sort_keys=True) + "\n")
    else:
        env.stdout.write(f"seedctl {__version__}\n")
    return ExitCode.OK
