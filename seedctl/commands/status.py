"""`seedctl status [-f SPEC] [--watch [--interval S]] [--json]`: the job, its drives, the deadline
and the next step. Exit codes: 0 on track, 1 error, 3 needs attention, 4 critical (docs/lifecycle.md)."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from seedctl.commands.common import (
    HelpFormatter,
    add_output_argument,
    add_spec_arguments,
    dump_data,
    load_spec_from_args,
    output_of,
)
from seedctl.env import Env
from seedctl.errors import SeedctlError

EXAMPLES = """\
examples:
  seedctl status                            the job, its drives, the tracking-number deadline, what to do
  seedctl status --watch                    refresh every 5 minutes until the job is final
  seedctl status -o json                    for a monitor (exit 3 needs attention, 4 critical)"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "status", help="show the import job, its drives, deadlines and the next step",
        epilog=EXAMPLES, formatter_class=HelpFormatter,
        description="Read the import job and say where it is and what to do next. Exit codes: 0 on track, "
                    "1 error, 3 needs attention (e.g. tracking-number deadline within 3 days, a drive failed), "
                    "4 critical (deadline passed, job failed).")
    add_spec_arguments(parser)
    parser.add_argument("--watch", action="store_true", help="refresh until the job reaches a final state")
    parser.add_argument("--interval", type=float, default=300.0, metavar="SECONDS",
                        help="seconds between refreshes with --watch (default 300)")
    add_output_argument(parser, what="the report (with --watch: one JSON line, or one YAML document, per refresh)")
    parser.set_defaults(handler=run)


def collect(spec: Any, ctx: Any, env: Env) -> Any:
    from seedctl.lifecycle.status import build_report
    from seedctl.lifecycle.storage import (
        container_metadata,
        parse_verified,
        read_destroyed,
        read_job,
        read_local_record,
    )

    job = read_job(spec, ctx)
    verified = destroyed = None
    if job is not None and job["phase"] in ("completed", "completed-with-errors"):
        destroyed = read_destroyed(spec)
        # after destroy the container (and its metadata) may be gone: the local record remains
        verified = (read_local_record(spec) if destroyed
                    else parse_verified(container_metadata(spec, ctx), spec.import_job.name))
    return build_report(spec, job, env.now(), verified, destroyed=destroyed)


def watch(fetch: Callable[[], Any], show: Callable[[Any], None], *, interval: float,
          sleep: Callable[[float], None] = time.sleep, max_rounds: int | None = None) -> Any:
    """Show a fresh report every `interval` seconds until the job is final; return the last one."""
    rounds = 0
    while True:
        report = fetch()
        show(report)
        rounds += 1
        if report.final or (max_rounds is not None and rounds >= max_rounds):
            return report
        sleep(interval)


def run(args: argparse.Namespace, env: Env) -> int:
    from seedctl.lifecycle.status import render_text
    from seedctl.planner import make_context

    if args.interval <= 0:
        raise SeedctlError("--interval must be a positive number of seconds")
    spec = load_spec_from_args(args, env)
    ctx = make_context(spec, env, local_state="skip")

    def show(report: Any) -> None:
        output = output_of(args)
        if output == "json":
            env.stdout.write(json.dumps(report.to_json(), sort_keys=True) + "\n")
        elif output == "yaml":
            env.stdout.write(("---\n" if args.watch else "") + dump_data(report.to_json(), "yaml"))
        else:
            if args.watch:
                env.stdout.write(f"--- {report.now:%Y-%m-%d %H:%M:%S} UTC ---\n")
            env.stdout.write(render_text(report, color=env.color))
        env.stdout.flush()

    fetch = lambda: collect(spec, ctx, env)  # noqa: E731
    report = watch(fetch, show, interval=args.interval) if args.watch else fetch()
    if not args.watch:
        show(report)
    return int(report.exit_code)
