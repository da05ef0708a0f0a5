"""`seedctl show PLAN`: render a saved plan (text, markdown or JSON) without touching anything."""

from __future__ import annotations

import argparse

from seedctl.commands.common import resolve_path
from seedctl.commands.plan import add_format_arguments, output_format
from seedctl.env import Env
from seedctl.errors import ExitCode


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("show", help="render a saved plan",
                                   description="Render a plan saved with `seedctl plan --out FILE`.")
    parser.add_argument("plan", metavar="PLAN", help="the saved plan file (from `seedctl plan --out`)")
    add_format_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, env: Env) -> int:
    from seedctl.render import render
    from seedctl.savedplan import load_plan

    plan = load_plan(resolve_path(env, args.plan), display=args.plan)
    env.stdout.write(render(plan, output_format(args), color=env.color))
    return ExitCode.ERROR if plan.has_errors else ExitCode.OK
