"""`seedctl apply [PLAN | -f SPEC]`: carry out a plan, idempotently and resumably."""

from __future__ import annotations

import argparse
import os
from typing import Any

from seedctl.commands.common import (
    DEFAULT_SPEC,
    HelpFormatter,
    add_spec_arguments,
    load_spec_with_warnings,
    resolve_path,
    spec_locator,
)
from seedctl.commands.plan import write_ending
from seedctl.env import Env
from seedctl.errors import ApplyError, ExitCode, PlanError, SeedctlError, SpecError

EXAMPLES = """\
examples:
  seedctl apply plan.json                   exactly the plan saved by `seedctl plan -out=plan.json`
  seedctl apply                             plan now, show it, ask, then apply seed.yaml
  seedctl apply -f other.yaml --auto-approve
  seedctl apply --verify                    also re-read finished drives against their manifests
It ends with the next steps: where to ship the drives, by when, and the shipment: lines to add."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "apply", help="make the world match the spec",
        epilog=EXAMPLES, formatter_class=HelpFormatter,
        description="Plan, show the plan, ask for confirmation, then carry it out in dependency order. "
                    "With a saved plan (from `seedctl plan --out`), apply exactly that plan, refusing if "
                    "the world or the spec changed since. Safe to run again after any interruption.")
    parser.add_argument("plan", nargs="?", metavar="PLAN",
                        help="a saved plan file (from `seedctl plan --out`) to apply exactly; default: plan now")
    add_spec_arguments(parser)
    parser.set_defaults(file=None)  # with a saved plan, the plan names its spec unless -f says otherwise
    parser.add_argument("--auto-approve", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--parallelism", type=int, default=4, metavar="N",
                        help="how many nodes (e.g. drives) to work on at once (default 4)")
    parser.add_argument("--lock-timeout", type=float, default=0.0, metavar="SECONDS",
                        help="wait this long for another apply of the same spec to finish (default 0)")
    parser.add_argument("--target", action="append", default=[], metavar="ADDRESS",
                        help="apply only this node and what it depends on; repeatable")
    parser.add_argument("--verify", action="store_true",
                        help="re-read every finished drive's files against its manifest (repairing what changed) "
                             "and every drive after writing it")
    parser.add_argument("--allow-drive-deletions", action="store_true",
                        help="delete files seedctl wrote to a drive that are no longer in staging (shown as a "
                             "destroy in the plan); without it such a plan is an error")
    parser.add_argument("--json", action="store_true", help="print one JSON event per line")
    parser.set_defaults(handler=run)


def _confirm(env: Env) -> bool:
    env.stdout.write("\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n"
                     "  Enter a value: ")
    env.stdout.flush()
    answer = env.stdin.readline().strip()
    return answer == "yes"


def run(args: argparse.Namespace, env: Env) -> int:
    from seedctl.apply import execute
    from seedctl.commands.ending import failed_problems, plan_problems
    from seedctl.lock import ApplyLock, lock_path_for
    from seedctl.planner import build_plan, make_context
    from seedctl.render import render
    from seedctl.reporter import Reporter
    from seedctl.savedplan import check_spec_matches, load_plan, made_for, spec_for_saved_plan, stale_nodes

    saved = None
    if args.plan:
        saved = load_plan(resolve_path(env, args.plan), display=args.plan)
        if args.file is None:
            args.file = spec_for_saved_plan(saved, env.cwd)
            if args.file == saved.spec_source and args.file != saved.spec_path:
                print(f"Using {args.file}, the spec this plan was made for.", file=env.stderr)
    if args.file is None:
        args.file = DEFAULT_SPEC
    try:
        spec, spec_warnings = load_spec_with_warnings(args, env, check_secrets=True)
    except SpecError as exc:
        if saved and saved.spec_source and str(resolve_path(env, args.file)) != saved.spec_source \
                and os.path.abspath(os.path.join(env.cwd, args.file)) != saved.spec_source:
            # say first that this is not the spec the plan was made for; its own problems second
            raise PlanError(f"this plan was made for {made_for(saved)}; {args.file} here is another file, and "
                            f"cannot be loaded either:\n{exc}") from None
        raise
    if saved:
        from seedctl.planner import spec_fingerprint

        check_spec_matches(saved, spec, spec_fingerprint(spec), args.file)
    if not saved and not args.auto_approve and not args.json and not env.stdin_isatty:
        raise ApplyError("apply needs confirmation, and there is no terminal to ask on; pass --auto-approve "
                         "or apply a saved plan (`seedctl plan --out plan.json` then `seedctl apply plan.json`)")
    reporter = Reporter(env, json_lines=args.json)
    lock_file = lock_path_for(str(resolve_path(env, args.file)), env.cwd)
    with ApplyLock(lock_file, timeout=args.lock_timeout):
        ctx = make_context(spec, env, local_state="auto", events=reporter.event)
        ctx.apply_options["verify"] = args.verify
        ctx.apply_options["allow_drive_deletions"] = args.allow_drive_deletions
        targets = args.target or ([c.address for c in saved.changes] if saved else None)
        plan, graph = build_plan(spec, ctx, targets=targets)
        if saved:
            reasons = stale_nodes(saved, plan)
            if reasons:
                raise PlanError("the saved plan is stale — the world or the spec changed since it was made:\n"
                                + "\n".join(f"  - {r}" for r in reasons)
                                + "\nRun `seedctl plan --out FILE` again and have it reviewed.")
        locator = spec_locator(args, env)
        problems = plan_problems(plan, observations=ctx.observations, spec_warnings=spec_warnings, locator=locator)
        if not args.json:
            env.stdout.write(render(plan, "text", color=env.color))
        else:
            reporter.event({"event": "plan", "summary": plan.counts()})
        if plan.has_errors:
            if not args.json:
                write_ending(env, problems)
            raise ApplyError("the plan has errors (above); nothing was changed")
        if not plan.has_changes:
            reporter.message("Apply complete: nothing to do.")
            if not args.json:
                write_ending(env, problems, after="apply")
                _next_steps(env, spec, args.file, ctx, reporter)
            return ExitCode.OK
        if not saved and not args.auto_approve:
            if not env.stdin_isatty or not _confirm(env):
                reporter.message("Apply cancelled.")
                return ExitCode.ERROR
        with reporter:
            result = execute(plan, graph, ctx, parallelism=args.parallelism)
        counts = result.counts()
        if args.json:
            reporter.event({"event": "summary", **counts,
                            "failed_nodes": [{"address": r.address, "error": r.error} for r in result.failed],
                            "skipped_nodes": [r.address for r in result.skipped]})
        else:
            reporter.message(f"\nApply {'complete' if not result.failed else 'incomplete'}: "
                             f"{counts['added']} added, {counts['changed']} changed, {counts['destroyed']} destroyed"
                             + (f", {counts['failed']} failed, {counts['skipped']} skipped." if result.failed else ".")
                             + (" Run apply again to resume." if result.failed else ""))
            for r in result.skipped:
                reporter.message(f"  skipped: {r.address} ({r.error or 'a dependency did not complete'})")
            # every failure and warning again, last, where it is read; then what to do next
            write_ending(env, failed_problems(result.failed, locator) + [p for p in problems if p.level == "warning"],
                         after="apply")
            _next_steps(env, spec, args.file, ctx, reporter, graph=graph)
        return ExitCode.ERROR if result.failed else ExitCode.OK


def _next_steps(env: Env, spec: Any, spec_file: str, ctx: Any, reporter: Any, *, graph: Any = None) -> None:
    """The physical procedure's next step, from the import job as it is now: read again after an
    apply that changed something (entering the shipment changes the job's phase but is another node)."""
    from seedctl.lifecycle.status import parse_time
    from seedctl.render.ending import next_steps

    if not spec.import_job:
        return
    address = f'import_job["{spec.import_job.name}"]'
    job = ctx.observations.get(address)
    if graph is not None and address in graph:
        try:
            job = graph.nodes[address]["node"].read(ctx)
        except SeedctlError:
            pass  # the apply's own outcome is already printed; the next steps use the last reading
    lines = next_steps(job if isinstance(job, dict) else None, spec_file=spec_file,
                       drives=[d.serial for d in spec.drives], shipped_address=reporter.shipping_address,
                       carrier=spec.import_job.return_shipping.carrier_name, shipment_in_spec=spec.shipment is not None,
                       now=env.now(), created=parse_time(job.get("created_at")) if isinstance(job, dict) else None)
    if lines:
        env.stdout.write("\n" + "\n".join(lines) + "\n")

