"""`seedctl validate [-f FILE] [--check-secrets]`: check a spec, listing every problem at once."""

from __future__ import annotations

import argparse
from pathlib import Path

from seedctl.commands.common import DEFAULT_SPEC, HelpFormatter
from seedctl.env import Env
from seedctl.errors import ExitCode

EXAMPLES = """\
examples:
  seedctl validate                          seed.yaml here: every problem with file:line:col
  seedctl validate --check-secrets          the BitLocker keys must resolve now, as apply needs
  seedctl validate --local-state require    on the copy computer: staging and drives must be here"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate", help="check a seeding spec (schema, names, paths, secrets)",
        epilog=EXAMPLES, formatter_class=HelpFormatter,
        description="Check a seeding spec and list every problem with file:line:col. Exit 0 when valid "
                    "(warnings go to stderr), 1 when not. Reads nothing from Azure.",
    )
    parser.add_argument("-f", "--file", default=DEFAULT_SPEC, help=f"the spec (default: {DEFAULT_SPEC})")
    parser.add_argument("--check-secrets", action="store_true",
                        help="treat unresolvable secret references as errors, as apply does")
    parser.add_argument("--local-state", choices=("auto", "skip", "require"), default="auto",
                        help="the staging folder and the drives' mount points on this computer: auto = warn "
                             "when missing (default), skip = do not look (CI), require = errors (the copy "
                             "computer, before plan)")
    parser.set_defaults(handler=run)


def in_cwd(env: Env, file: str) -> Path:
    """A path the user typed, taken from the command's working folder (Env.cwd)."""
    path = Path(file).expanduser()
    return path if path.is_absolute() else Path(env.cwd) / path


def run(args: argparse.Namespace, env: Env) -> int:
    from seedctl.spec import validate_spec

    result = validate_spec(in_cwd(env, args.file), check_secrets=args.check_secrets, environ=env.environ,
                           display_name=args.file)
    spec = result.spec
    local = _local_findings(args, env)
    if local.errors:
        from seedctl.spec.paths import spec_error

        raise spec_error(local.errors, args.file)
    warnings = list(result.warnings) + local.warnings + _platform_warnings(spec)
    for warning in warnings:
        print(f"Warning: {warning}", file=env.stderr)
    job = f"import job {spec.import_job.name} (api: {spec.import_job.api})" if spec.import_job else "no import job"
    count = len(spec.drives)
    print(f"{args.file} is valid: {count} drive{'s' if count != 1 else ''}, {job}.", file=env.stdout)
    return ExitCode.OK


def _local_findings(args: argparse.Namespace, env: Env) -> object:
    """The extras only this computer can check (seedctl.spec.checks.local_checks)."""
    from seedctl.spec.checks import local_checks
    from seedctl.spec.yamlread import read_yaml

    path = in_cwd(env, args.file)
    doc = read_yaml(path.read_bytes(), args.file)
    return local_checks(doc, args.file, str(path.absolute().parent), local_state=args.local_state)


def _platform_warnings(spec: object) -> list[str]:
    """What this computer cannot do, though the spec is valid (it may be meant for another one):
    `plan` and `apply` here refuse it (seedctl.planner)."""
    import sys

    if sys.platform.startswith("win"):
        return []
    managed = [d.serial for d in getattr(spec, "drives", ()) if d.bitlocker is not None and d.bitlocker.manage]
    return [f"drive {serial}: bitlocker.manage: true needs Windows (manage-bde); plan and apply on this "
            f"computer ({sys.platform}) will refuse it — run them on the Windows copy computer, or give the key "
            "of a drive encrypted elsewhere" for serial in managed]
