"""`seedctl destroy [-f SPEC] [--auto-approve] [--staging [--deep]]`: delete the imported copy (and, if asked,
the staging copy) after a completed, verified import. Exit 0 done or nothing to do, 1 refused or failed."""

from __future__ import annotations

import argparse

from seedctl.commands.common import add_spec_arguments, load_spec_from_args
from seedctl.env import Env
from seedctl.errors import SeedctlError
from seedctl.lifecycle import LifecycleExit


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "destroy", help="after a verified import, delete the imported blobs (and staging with --staging)",
        description="Plan and, after confirmation, delete exactly the blobs the drives' manifests imported, the "
                    "container if seedctl created it and nothing else is in it, and with --staging the staging "
                    "files. Refuses while the job is active or the data is unverified; never deletes the vault, "
                    "the storage account or the job. A second run does nothing.")
    add_spec_arguments(parser)
    parser.add_argument("--auto-approve", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--staging", action="store_true", help="also delete the staging files that were imported")
    parser.add_argument("--deep", action="store_true",
                        help="with --staging: prove each file's import by downloading and hashing its blob (the "
                             "strongest evidence; without it the service's block or page listing is used)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, env: Env) -> int:
    from seedctl.lifecycle.destroy import execute, plan_destroy, render_plan
    from seedctl.planner import make_context

    spec = load_spec_from_args(args, env)
    ctx = make_context(spec, env, local_state="skip")
    plan = plan_destroy(spec, ctx, staging=args.staging, deep=args.deep)
    if plan.refusal:
        raise SeedctlError(f"destroy refused: {plan.refusal}")
    if plan.empty:
        env.stdout.write(f"Nothing to destroy for import job {plan.job_name}: the imported blobs"
                         f"{' and staging files' if args.staging else ''} are already gone.\n")
        return LifecycleExit.OK
    env.stdout.write(render_plan(plan))
    env.stdout.write("\nBefore you confirm: the backup agent must have run its first scheduled backup after the "
                     "import (that copies the data from the storage account into the vault).\n")
    if not args.auto_approve:
        if not env.stdin_isatty:
            raise SeedctlError("destroy needs confirmation and there is no terminal to ask on; pass --auto-approve")
        env.stdout.write("\nDo you want to delete these?\n  Only 'yes' will be accepted to approve.\n\n"
                         "  Enter a value: ")
        env.stdout.flush()
        if env.stdin.readline().strip() != "yes":
            env.stdout.write("Destroy cancelled.\n")
            return LifecycleExit.ERROR
    failures = execute(spec, ctx, plan)
    if not failures and plan.blobs:
        from seedctl.lifecycle.storage import record_destroyed_locally

        record_destroyed_locally(spec, env.now().replace(microsecond=0).isoformat())
    if failures:
        env.stdout.write("\nDestroy incomplete:\n" + "".join(f"  ✗ {f}\n" for f in failures)
                         + "Run it again to finish.\n")
        return LifecycleExit.ERROR
    env.stdout.write(f"\nDestroy complete: {len(plan.blobs):,} blob(s)"
                     + (", the container" if plan.delete_container else "")
                     + (f", {len(plan.staging_files):,} staging file(s)" if plan.staging_files else "")
                     + " deleted.\n")
    return LifecycleExit.OK
