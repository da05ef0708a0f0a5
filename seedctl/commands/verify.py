"""`seedctl verify [-f SPEC] [--deep] [--all] [--json]`: compare the container with every shipped
drive's manifest once the job is completed. Exit 0 when everything arrived intact, 1 otherwise."""

from __future__ import annotations

import argparse

from seedctl.commands.common import (
    add_output_argument,
    add_spec_arguments,
    dump_data,
    load_spec_from_args,
    output_of,
)
from seedctl.env import Env
from seedctl.lifecycle import LifecycleExit


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify", help="check that every file on the drives arrived in the container intact",
        description="Once the import job is completed, compare the container's blobs with the manifest of "
                    "every drive: present, length and blob type; the CRC-64 the service logged at import (Data "
                    "Box verbose copy log) against the one seedctl recorded; each blob's page ranges or block "
                    "ids as the service lists them now. Read the service's error logs and incomplete-blob list, "
                    "and record a passing verification on the container. Exit 0 when everything arrived "
                    "intact, 1 on any missing, damaged or unverified file or error.")
    add_spec_arguments(parser)
    parser.add_argument("--deep", action="store_true",
                        help="also download every blob and hash it: a block blob whole, a page blob's listed "
                             "ranges (MD5 each) and CRC-64 (reads the data)")
    parser.add_argument("--all", action="store_true", help="list every file, not only the failures")
    add_output_argument(parser, what="the report")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, env: Env) -> int:
    from seedctl.lifecycle.verify import render_text, verify
    from seedctl.planner import make_context

    spec = load_spec_from_args(args, env)
    ctx = make_context(spec, env, local_state="skip")
    report = verify(spec, ctx, deep=args.deep)
    if output_of(args) != "table":
        env.stdout.write(dump_data(report.to_json(), output_of(args)))
    else:
        env.stdout.write(render_text(report, all_files=args.all))
    return LifecycleExit.OK if report.ok else LifecycleExit.ERROR
