"""`seedctl plan`: refresh the world, diff it against the spec, show what apply would do."""

from __future__ import annotations

import argparse
from pathlib import Path

from seedctl.commands.common import (
    HelpFormatter,
    add_local_state_argument,
    add_spec_arguments,
    load_spec_with_warnings,
    spec_locator,
)
from seedctl.env import Env
from seedctl.errors import ExitCode

FORMATS = ("text", "markdown", "json")


def add_format_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default=None, help="output format (default: text)")
    # az's habit: -o/--output; `table` is az's name for the text form
    parser.add_argument("-o", "--output", dest="format", choices=(*FORMATS, "table"),
                        help="same as --format (az's spelling; table = text)")
    parser.add_argument("--json", action="store_true", help="same as --format json")


def output_format(args: argparse.Namespace) -> str:
    if args.json:
        return "json"
    return "text" if args.format in (None, "table") else args.format


EXAMPLES = """\
examples:
  seedctl plan                              what apply would change, for seed.yaml here
  seedctl plan -out=plan.json               the same, saved for `seedctl apply plan.json`
  seedctl plan -o markdown                  for a pull-request comment
  seedctl plan --local-state skip -o json   on a CI runner without drives or staging
  seedctl plan --detailed-exitcode          exit 2 when there are changes (scripts, CI)"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan", help="show what apply would change",
        epilog=EXAMPLES, formatter_class=HelpFormatter,
        description="Read Azure, the staging folder and the drives, compare them with the spec and show "
                    "what apply would do. Changes nothing. Exit 0 (no changes), 1 (error), 2 (changes, "
                    "with --detailed-exitcode).")
    add_spec_arguments(parser)
    add_local_state_argument(parser)
    add_format_arguments(parser)
    parser.add_argument("--out", "-out", metavar="FILE",  # -out=FILE: Terraform's spelling
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
    from seedctl.commands.ending import plan_problems
    from seedctl.planner import build_plan, make_context
    from seedctl.render import render
    from seedctl.savedplan import save_plan

    spec, spec_warnings = load_spec_with_warnings(args, env)
    ctx = make_context(spec, env, local_state=args.local_state)
    ctx.apply_options["allow_drive_deletions"] = args.allow_drive_deletions
    if env.stderr_isatty:
        print("Refreshing state...", file=env.stderr)
    plan, _ = build_plan(spec, ctx, targets=args.target)
    # the spec as the user named it: a saved plan moves between machines (CI → copy computer) and
    # a PR comment should not show a runner's folders
    plan.spec_path = args.file
    if spec.source_path:  # and which file that was, exactly: apply names it when run elsewhere
        from seedctl.savedplan import file_digest

        plan.spec_source = spec.source_path
        plan.spec_digest = file_digest(Path(spec.source_path))
    fmt = output_format(args)
    env.stdout.write(render(plan, fmt, color=env.color))
    if fmt == "text":  # every error and warning again, at the bottom, with its spec line and the fix
        write_ending(env, plan_problems(plan, observations=ctx.observations, spec_warnings=spec_warnings,
                                        locator=spec_locator(args, env)))
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


def write_ending(env: Env, problems: list, *, after: str = "plan") -> None:
    """The closing list of errors and warnings (nothing when there are none), after a blank line."""
    from seedctl.render.ending import problem_lines

    lines = problem_lines(problems, after=after)
    if lines:
        env.stdout.write("\n" + "\n".join(lines) + "\n")
