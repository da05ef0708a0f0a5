"""`seedctl sandbox up|down|status|reset|drive|datacenter`: the local Azure."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from seedctl.env import Env
from seedctl.errors import ExitCode


def register(subparsers: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dir", metavar="DIR",
                        help="sandbox folder (default $SEEDCTL_SANDBOX_DIR, else ~/.local/state/seedctl/sandbox)")
    parser = subparsers.add_parser("sandbox", help="run the local Azure sandbox (ARM over HTTPS + Azurite)",
                                   description="The local Azure sandbox: an ARM REST server over HTTPS "
                                               "and Azurite, on loopback only.")
    sub = parser.add_subparsers(dest="sandbox_command", metavar="ACTION", required=True)

    p = sub.add_parser("up", parents=[common], help="start the sandbox in the background")
    p.add_argument("--json", action="store_true", help="print the connection as JSON")
    p.add_argument("--timeout", type=float, default=15.0, help=argparse.SUPPRESS)
    p.set_defaults(handler=_up)
    p = sub.add_parser("down", parents=[common], help="stop the sandbox (its state is kept)")
    p.set_defaults(handler=_down)
    p = sub.add_parser("status", parents=[common],
                       help="show whether it runs and how to connect (endpoint, CA, token, Azurite)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=_status)
    p = sub.add_parser("reset", parents=[common], help="forget every resource, drive and fault")
    p.set_defaults(handler=_reset)
    p = sub.add_parser("drive", parents=[common], help="make a folder a simulated drive and register it")
    p.add_argument("serial", metavar="SERIAL")
    p.add_argument("path", metavar="PATH", type=Path)
    p.add_argument("--capacity", default="1TB", metavar="SIZE", help="e.g. 2TB, 500GiB (default 1TB)")
    p.add_argument("--key-out", type=Path, metavar="FILE",
                   help="write the drive's BitLocker recovery password here (mode 0600); never printed")
    p.set_defaults(handler=_drive)
    p = sub.add_parser("datacenter", parents=[common],
                       help="move an import job on as the datacenter would (receive, copy, complete)")
    p.add_argument("job", metavar="JOB")
    p.add_argument("-g", "--resource-group", metavar="RG", help="needed when JOB's name is not unique")
    p.add_argument("--subscription", metavar="ID")
    p.add_argument("--to", dest="to_state", metavar="STATE",
                   help="target state (Received, Transferring, Packaging, Completed; Data Box: "
                        "ShippedToAzureDC, AtAzureDC, DataCopy, Completed); default: the next one")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_datacenter)


def _dir(args: argparse.Namespace, env: Env) -> Path:
    from seedctl.sandbox.connection import default_sandbox_dir

    return Path(args.dir).expanduser() if args.dir else default_sandbox_dir(env.environ)


def _control(args: argparse.Namespace, env: Env):  # noqa: ANN202
    from seedctl.sandbox.connection import load_connection
    from seedctl.sandbox.control import SandboxControl

    return SandboxControl(load_connection(_dir(args, env), env.environ))


def _up(args: argparse.Namespace, env: Env) -> int:
    from seedctl.sandbox import lifecycle

    conn, started = lifecycle.up(_dir(args, env), timeout=args.timeout)
    if args.json:
        print(json.dumps({"running": True, **conn.to_json()}, indent=2), file=env.stdout)
    else:
        verb = "started" if started else "already running"
        print(f"Sandbox {verb} in {conn.dir}\n  ARM:   {conn.arm_endpoint}\n  blob:  {conn.blob_endpoint}\n"
              f"  CA:    {conn.ca_bundle}\nUse `cloud: sandbox` in a spec, or `seedctl sandbox status --json`.",
              file=env.stdout)
    return ExitCode.OK


def _down(args: argparse.Namespace, env: Env) -> int:
    from seedctl.sandbox import lifecycle

    directory = _dir(args, env)
    stopped = lifecycle.down(directory)
    print(f"Sandbox in {directory} {'stopped' if stopped else 'was not running'}.", file=env.stdout)
    return ExitCode.OK


def _status(args: argparse.Namespace, env: Env) -> int:
    from seedctl.sandbox import lifecycle

    info = lifecycle.status(_dir(args, env))
    if args.json:
        print(json.dumps(info, indent=2), file=env.stdout)
    elif info["running"]:
        print(f"Sandbox running in {info['dir']} (pid {info['pid']})\n  arm_endpoint:  {info['arm_endpoint']}\n"
              f"  ca_bundle:     {info['ca_bundle']}\n  token:         {info['token']}\n"
              f"  blob_endpoint: {info['blob_endpoint']}", file=env.stdout)
    else:
        print(f"No sandbox running in {info['dir']}; start one with `seedctl sandbox up`.", file=env.stdout)
    return ExitCode.OK if info["running"] else ExitCode.ERROR


def _reset(args: argparse.Namespace, env: Env) -> int:
    _control(args, env).reset()
    print("Sandbox reset: no resources, drives or faults remain.", file=env.stdout)
    return ExitCode.OK


def _drive(args: argparse.Namespace, env: Env) -> int:
    from seedctl.sandbox.simdrive import make_drive, parse_size

    capacity = parse_size(args.capacity)
    key_path = make_drive(_control(args, env), _dir(args, env), args.serial, args.path, capacity, args.key_out)
    print(f"Simulated drive {args.serial} at {args.path.expanduser().resolve()} ({capacity:,} bytes), "
          f"registered with the sandbox.\nBitLocker recovery password written to {key_path} (mode 0600).",
          file=env.stdout)
    return ExitCode.OK


def _datacenter(args: argparse.Namespace, env: Env) -> int:
    job = _control(args, env).advance_job(args.resource_group, args.job, args.to_state,
                                          subscription=args.subscription)
    if args.json:
        print(json.dumps(job, indent=2), file=env.stdout)
        return ExitCode.OK
    props = job.get("properties", {})
    state = props.get("state") or props.get("status")
    print(f"Job {job['name']}: {state}", file=env.stdout)
    for drive in props.get("driveList", []):
        print(f"  drive {drive['driveId']}: {drive.get('state')}"
              + (f", {drive['percentComplete']}%" if drive.get("percentComplete") is not None else "")
              + (f", {drive['copyStatus']}" if drive.get("copyStatus") else ""), file=env.stdout)
    return ExitCode.OK

