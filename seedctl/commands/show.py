"""`seedctl show PLAN`: render a saved plan (text, markdown or JSON) without touching anything."""

from __future__ import annotations

import argparse

from seedctl.commands.common import DEFAULT_SPEC, HelpFormatter, load_spec_from_args, resolve_path
from seedctl.commands.plan import add_format_arguments, output_format
from seedctl.env import Env
from seedctl.errors import ExitCode

EXAMPLES = """\
examples:
  seedctl show plan.json                the saved plan, as plan printed it
  seedctl show plan.json -o markdown    for a pull-request comment
  seedctl show drives                   which file is (or will be) on which drive
  seedctl show drives -o json           the same, exact bytes, for scripts"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "show", help="render a saved plan, or which file went to which drive",
        description="`seedctl show PLAN` renders a plan saved with `seedctl plan --out FILE`. `seedctl show "
                    "drives` lists, per drive of the spec, the files it holds (from its manifest: on the drive, "
                    "or the copy kept beside the spec once it has left) or, before it is written, the files "
                    "plan will put on it.",
        epilog=EXAMPLES, formatter_class=HelpFormatter)
    parser.add_argument("plan", metavar="PLAN", help="the saved plan file (from `seedctl plan --out`), or `drives`")
    parser.add_argument("-f", "--file", default=DEFAULT_SPEC,
                        help=f"with `drives`: the spec (default: {DEFAULT_SPEC})")
    add_format_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, env: Env) -> int:
    from seedctl.render import render
    from seedctl.savedplan import load_plan

    if args.plan == "drives" and not resolve_path(env, args.plan).is_file():
        return _drives(args, env)

    plan = load_plan(resolve_path(env, args.plan), display=args.plan)
    env.stdout.write(render(plan, output_format(args), color=env.color))
    return ExitCode.ERROR if plan.has_errors else ExitCode.OK


def _drives(args: argparse.Namespace, env: Env) -> int:
    import json

    from seedctl.drivemap import drive_map, render_text

    spec = load_spec_from_args(args, env)
    drives = drive_map(spec)
    if output_format(args) == "json":
        env.stdout.write(json.dumps({"version": 1, "spec": spec.name, "drives": [d.to_json() for d in drives]},
                                    sort_keys=True, indent=2) + "\n")
    else:
        env.stdout.write(render_text(drives))
    return ExitCode.OK
