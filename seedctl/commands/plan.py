"""`seedctl plan`: refresh the world, diff it against the spec, show what apply would do."""

from __future__ import annotations

import argparse

from seedctl.commands.common import add_local_state_argument, add_spec_arguments, load_spec_from_args
from seedctl.env import Env
from seedctl.errors import ExitCode


def add_format_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "markdown", "json"), default=None,
                        help="output format (default: text)")
    parser.add_argument("--json", action="store_true", help="same as --format json")


def output_format(args: argparse.Namespace) -> str:
    return "json" if args.json else (args.format or "text")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan", help="show what apply would change",
        description="Read Azure, the staging folder and the drives, compare them with the spec and show "
                    "what apply would do. Changes nothing. Exit 0 (no changes), 1 (error), 2 (changes, "
                    "with --detailed-exitcode).")
    add_spec_arguments(parser)
    add_local_state_argument(parser)
    add_format_arguments(parser)
    parser.add_argument("--out", metavar="FILE",
                        help="save the plan for `seedctl apply FILE` (refused, exit 1, when the plan has errors)")
    parser.add_argument("--detailed-exitcode", action="store_true",
                        help="exit 2 when the plan has changes, 0 when none")
    parser.add_argument("--allow-drive-deletions", action="store_true",
                        help="plan deleting files seedctl wrote to a drive that are no longer in staging "
                             "(apply needs the same flag); without it such a plan is an error")
    parser.add_argument("--target", action="append", default=[], metavar="ADDRESS",
                        help='plan only this node and what it depends on (e.g. drive["WD-1"]); repeatable')
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, env: Env) -> int:
    from seedctl.planner import build_plan, make_context
    from seedctl.render import render
    from seedctl.savedplan import save_plan

    spec = load_spec_from_args(args, env)
    ctx = make_context(spec, env, local_state=args.local_state)
    ctx.apply_options["allow_drive_deletions"] = args.allow_drive_deletions
    if env.stderr_isatty:
        print("Refreshing state...", file=env.stderr)
    plan, _ = build_plan(spec, ctx, targets=args.target)
    # the spec as the user named it: a saved plan moves between machines (CI → copy computer) and
    # a PR comment should not show a runner's folders
    plan.spec_path = args.file
    env.stdout.write(render(plan, output_format(args), color=env.color))
    if args.out and plan.has_errors:
        # a plan with errors cannot be applied; saving it would only invite `seedctl apply FILE`
        print(f"Not saving the plan to {args.out}: it has errors (above). Fix them and run plan again.",
              file=env.stderr)
    elif args.out:
        save_plan(plan, args.out, cwd=env.cwd)
        print(f"Saved the plan to {args.out}. Apply exactly this plan with: seedctl apply {args.out}",
              file=env.stderr)
    if plan.has_errors:
        return ExitCode.ERROR
    if args.detailed_exitcode and plan.has_changes:
        return ExitCode.CHANGES
    return ExitCode.OK
