"""`seedctl init [-f FILE] [--api databox|importexport] [--sandbox] [--force]`: write a commented
starter spec; with --sandbox, one that runs as written on the local sandbox, with sample data."""

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
    parser.add_argument("--sandbox", action="store_true",
                        help="a spec for the local sandbox that works as written: cloud sandbox, everything "
                             "created, a ./staging folder with sample data, drives under ./drives")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, env: Env) -> int:
    from seedctl.spec.schema import SCHEMA_FILENAME, schema_text
    from seedctl.spec.starter import sandbox_spec, starter_spec

    target = in_cwd(env, args.file)
    if target.exists() and not args.force:
        raise SeedctlError(f"{args.file} already exists; use --force to overwrite it")
    schema_file = target.parent / SCHEMA_FILENAME
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        make = sandbox_spec if args.sandbox else starter_spec
        target.write_text(make(args.api, schema=SCHEMA_FILENAME), encoding="utf-8")
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
    if args.sandbox:
        _sandbox_extras(args, env, target)
        return ExitCode.OK
    print(f"Next: edit it, then `seedctl validate -f {args.file}`.", file=env.stdout)
    return ExitCode.OK


SAMPLE_MB = 96  # two data sources of 48 MB: more than one 128 MiB sandbox drive holds, so both are used


def _sandbox_extras(args: argparse.Namespace, env: Env, target: object) -> None:
    """Sample staging data beside the spec, and the commands that make its drives."""
    import shlex
    from pathlib import Path

    from seedctl.demo import make_staging
    from seedctl.spec.starter import SANDBOX_CAPACITY, SANDBOX_SERIALS
    from seedctl.units import format_bytes

    folder = Path(str(target)).parent
    staging = folder / "staging"
    if staging.exists() and any(staging.iterdir()):
        print(f"{staging} already holds files; left as it is.", file=env.stdout)
    else:
        try:
            count, size = make_staging(staging, SAMPLE_MB)
        except OSError as exc:
            raise SeedctlError(f"cannot write sample data to {staging}: {exc.strerror or exc}") from None
        print(f"Wrote sample staging data: {count} files, {format_bytes(size)} in {staging}.", file=env.stdout)
    spec_arg = "" if args.file == DEFAULT_SPEC else f" -f {shlex.quote(args.file)}"
    print("Next, with the sandbox running (`seedctl sandbox up`), make the drives the spec names:\n"
          f"  seedctl sandbox drive -f {shlex.quote(args.file)}\n"
          "which is the same as:", file=env.stdout)
    for serial in SANDBOX_SERIALS:
        print(f"  seedctl sandbox drive {serial} drives/{serial} --capacity {SANDBOX_CAPACITY} "
              f"--key-out keys/{serial}.key", file=env.stdout)
    print(f"Then: seedctl plan{spec_arg} --out plan.json && seedctl apply plan.json", file=env.stdout)
