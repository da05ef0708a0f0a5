"""`seedctl schema`: print the seeding-spec JSON Schema (for editors and other tools)."""

from __future__ import annotations

import argparse

from seedctl.env import Env
from seedctl.errors import ExitCode


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "schema", help="print the seeding-spec JSON Schema",
        description="Print the JSON Schema (2020-12) of the seeding spec. Save it next to your spec and "
                    "point your editor at it with '# yaml-language-server: $schema=seeding-spec.schema.json'.",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, env: Env) -> int:
    from seedctl.spec.schema import schema_text

    text = schema_text()
    env.stdout.write(text if text.endswith("\n") else text + "\n")
    return ExitCode.OK
