"""`seedctl init [-f FILE] [--api databox|importexport] [--force]`: write a commented starter spec."""

from __future__ import annotations

import argparse

from seedctl.commands.common import DEFAULT_SPEC, JOB_APIS
from seedctl.commands.validate import in_cwd
from seedctl.env import Env
from seedctl.errors import ExitCode, SeedctlError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "init", help="write a commented starter spec",
        description="Write a commented starter spec (and the schema beside it, for editor help). "
                    "--api databox (default) suits MARS 2.0.9250.0+, DPM 2019 UR1+ and MABS v3 UR1+; "
                    "--api importexport suits older agents.",
    )
    parser.add_argument("-f", "--file", default=DEFAULT_SPEC, help=f"where to write it (default: {DEFAULT_SPEC})")
    parser.add_argument("--api", choices=JOB_APIS, default="databox",
                        help="the import job's back end (default: databox, the current one)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, env: Env) -> int:
    from seedctl.spec.schema import SCHEMA_FILENAME, schema_text
    from seedctl.spec.starter import starter_spec

    target = in_cwd(env, args.file)
    if target.exists() and not args.force:
        raise SeedctlError(f"{args.file} already exists; use --force to overwrite it")
    schema_file = target.parent / SCHEMA_FILENAME
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(starter_spec(args.api, schema=SCHEMA_FILENAME), encoding="utf-8")
        wrote_schema = not schema_file.exists() or args.force
        if wrote_schema:
            schema_file.write_text(schema_text(), encoding="utf-8")
    except OSError as exc:
        raise SeedctlError(f"{args.file}: cannot be written ({exc.strerror or exc})") from None
    print(f"Wrote {args.file} (import job api: {args.api}).", file=env.stdout)
    if wrote_schema:
        print(f"Wrote {SCHEMA_FILENAME} beside it, so editors show help and completion.", file=env.stdout)
    elif schema_file.read_text(encoding="utf-8") != schema_text():
        print(f"{SCHEMA_FILENAME} beside it is from another seedctl version; refresh it with "
              f"`seedctl schema > {SCHEMA_FILENAME}`.", file=env.stdout)
    print(f"Next: edit it, then `seedctl validate -f {args.file}`.", file=env.stdout)
    return ExitCode.OK
