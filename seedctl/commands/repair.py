"""`seedctl repair [-f SPEC] --out repair.yaml`: verify, then write a follow-up spec for a new job
that sends again only the missing or damaged files. Exit 0 (file written, or nothing to repair),
1 on error."""

from __future__ import annotations

import argparse
from pathlib import Path

from seedctl.commands.common import add_spec_arguments, load_spec_from_args, resolve_path
from seedctl.env import Env
from seedctl.errors import SeedctlError
from seedctl.fsretry import replace as replace_retrying
from seedctl.lifecycle import LifecycleExit


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "repair", help="write a follow-up spec that sends the missing or damaged files again",
        description="Run verify and, when files are missing, damaged or unverified, write a spec for a new "
                    "import job covering only those files (new job name, no shipment, staging limited to the "
                    "files, placeholder drives to fill in; page blobs are sent again whole as page blobs, and "
                    "the import recreates them). `seedctl validate` accepts it as written. Run `seedctl verify "
                    "--deep` first when files are unverified: they may be intact.")
    add_spec_arguments(parser)
    parser.add_argument("--out", required=True, metavar="FILE", help="where to write the follow-up spec")
    parser.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, env: Env) -> int:
    from seedctl.lifecycle.repair import build_repair_spec
    from seedctl.lifecycle.verify import render_text, verify
    from seedctl.planner import make_context
    from seedctl.units import format_bytes

    spec = load_spec_from_args(args, env)
    out = resolve_path(env, args.out)
    if out.exists() and not args.force:
        raise SeedctlError(f"{args.out} exists; choose another --out or pass --force")
    ctx = make_context(spec, env, local_state="skip")
    report = verify(spec, ctx)
    env.stdout.write(render_text(report))
    if report.ok:
        env.stdout.write("Nothing to repair.\n")
        return LifecycleExit.OK
    repair = build_repair_spec(spec, report, Path(out))
    tmp = Path(f"{out}.tmp")
    try:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(repair.text, encoding="utf-8")
        replace_retrying(tmp, out)  # never a half-written spec under the real name (retried on Windows sharing errors)
    except OSError as exc:
        raise SeedctlError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    env.stdout.write(f"\nWrote {args.out}: import job {repair.job_name} for {len(repair.files)} file(s), "
                     f"{format_bytes(repair.bytes)}.\n")
    for note in repair.notes:
        env.stdout.write(f"  note: {note}\n")
    env.stdout.write(f"Next: edit the drive placeholders in {args.out}, then `seedctl apply -f {args.out}`.\n")
    return LifecycleExit.OK
