"""`seedctl sandbox up|down|status|reset|drive|datacenter`: the local Azure."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from seedctl.commands.common import DEFAULT_SPEC, resolve_path
from seedctl.env import Env
from seedctl.errors import ExitCode, SandboxError, SeedctlError


def register(subparsers: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dir", metavar="DIR",
                        help="sandbox folder (default $SEEDCTL_SANDBOX_DIR, else the per-user state folder: "
                             "%%LOCALAPPDATA%%\\seedctl\\sandbox, ~/Library/Application Support/seedctl/sandbox, "
                             "$XDG_STATE_HOME/seedctl/sandbox or ~/.local/state/seedctl/sandbox)")
    parser = subparsers.add_parser("sandbox", help="run the local Azure sandbox (ARM over HTTPS + Azurite)",
                                   description="The local Azure sandbox: an ARM REST server over HTTPS "
                                               "and Azurite, on loopback only. See docs/sandbox.md.")
    sub = parser.add_subparsers(dest="sandbox_command", metavar="ACTION", required=True,
                                help="what to do with the sandbox")

    def action(name: str, text: str, description: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=text, description=description)

    p = action("up", "start the sandbox in the background",
               "Start the local ARM server (HTTPS on 127.0.0.1, its own CA) and Azurite in the background; "
               "their state lives in the sandbox folder and survives restarts. Installed from a wheel, the "
               "first `up` offers to install Azurite (Node.js/npm needed) into the per-user data folder.")
    p.add_argument("--json", action="store_true", help="print the connection as JSON")
    p.add_argument("--install-azurite", action="store_true",
                   help="install Azurite with npm without asking, if it is missing (for scripts)")
    p.add_argument("--timeout", type=float, default=15.0, help=argparse.SUPPRESS)
    p.set_defaults(handler=_up)
    p = action("down", "stop the sandbox (its state is kept)", "Stop the sandbox and Azurite; nothing is left running.")
    p.set_defaults(handler=_down)
    p = action("status", "show whether it runs and how to connect (endpoint, CA, token, Azurite)",
               "Show whether the sandbox runs and how to connect to it. Exit 0 running, 1 not.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=_status)
    p = action("reset", "forget every resource, drive and fault",
               "Forget every resource, simulated drive and fault; the sandbox keeps running.")
    p.set_defaults(handler=_reset)
    p = action("drive", "make a folder a simulated drive and register it",
               "Make a folder a simulated drive (serial number, capacity, BitLocker key) and register it with "
               "the sandbox's datacenter. With -f and no SERIAL: every drive the spec names, at its "
               "mount_point, with its capacity, writing each key to the spec's bitlocker.key.file.")
    p.add_argument("serial", metavar="SERIAL", nargs="?",
                   help="the drive's serial number, as the spec's drives[].serial says")
    p.add_argument("path", metavar="PATH", type=Path, nargs="?",
                   help="the folder that plays the drive (the spec's drives[].mount_point); created if missing")
    p.add_argument("-f", "--file", metavar="FILE",
                   help=f"make every drive this spec names (e.g. -f {DEFAULT_SPEC})")
    p.add_argument("--capacity", default="1TB", metavar="SIZE", help="e.g. 2TB, 500GiB (default 1TB)")
    p.add_argument("--key-out", type=Path, metavar="FILE",
                   help="write the drive's BitLocker recovery password here (mode 0600); never printed")
    p.set_defaults(handler=_drive)
    p = action("datacenter", "move an import job on as the datacenter would (receive, copy, complete)",
               "Move an import job on as the datacenter would: receive the drives, copy their data into the "
               "storage account, complete. The job is the spec's import_job (-f, default seed.yaml), or JOB "
               "by name when that name is unique in the sandbox.")
    p.add_argument("job", metavar="JOB", nargs="?",
                   help="the import job's name; default: import_job.name of the spec (-f)")
    p.add_argument("-f", "--file", metavar="FILE",
                   help=f"take the job, its resource group and subscription from this spec (default: {DEFAULT_SPEC} "
                        "when JOB is not given)")
    p.add_argument("-g", "--resource-group", metavar="RG", help="the job's resource group; needed only when "
                   "JOB's name is not unique")
    p.add_argument("--subscription", metavar="ID", help="the job's subscription id; needed only when JOB's name "
                   "is not unique across subscriptions")
    p.add_argument("--to", dest="to_state", metavar="STATE",
                   help="target state (Received, Transferring, Packaging, Completed; Data Box: "
                        "ShippedToAzureDC, AtAzureDC, DataCopy, Completed); default: the next one")
    p.add_argument("--json", action="store_true", help="print the job as the sandbox's GET returns it")
    p.set_defaults(handler=_datacenter)


def _dir(args: argparse.Namespace, env: Env) -> Path:
    from seedctl.sandbox.connection import default_sandbox_dir

    return Path(args.dir).expanduser() if args.dir else default_sandbox_dir(env.environ)


def _control(args: argparse.Namespace, env: Env):  # noqa: ANN202
    from seedctl.sandbox.connection import load_connection
    from seedctl.sandbox.control import SandboxControl

    return SandboxControl(load_connection(_dir(args, env), env.environ))


def _up(args: argparse.Namespace, env: Env) -> int:
    from seedctl.commands.azurite_setup import ensure_azurite
    from seedctl.sandbox import lifecycle

    ensure_azurite(env, assume_yes=args.install_azurite)
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
    from seedctl.units import format_bytes

    if args.serial and args.path is None:
        raise SeedctlError("sandbox drive: give both SERIAL and PATH, or -f SPEC for every drive the spec names")
    if args.serial:
        wanted = [(args.serial, _here(env, args.path), parse_size(args.capacity),
                   _here(env, args.key_out) if args.key_out else None)]
    elif args.file:
        wanted = _drives_of_spec(args, env)
    else:
        raise SeedctlError("sandbox drive: give SERIAL and PATH, or -f SPEC for every drive the spec names")
    control = _control(args, env)
    for serial, path, capacity, key_out in wanted:
        key_path = make_drive(control, _dir(args, env), serial, path, capacity, key_out)
        print(f"Simulated drive {serial} at {path.resolve()} ({format_bytes(capacity)}), registered with the "
              f"sandbox.\nBitLocker recovery password written to {key_path} (mode 0600).", file=env.stdout)
    return ExitCode.OK


def _here(env: Env, path: Path) -> Path:
    path = Path(path).expanduser()
    return path if path.is_absolute() else Path(env.cwd) / path


def _drives_of_spec(args: argparse.Namespace, env: Env) -> list[tuple[str, Path, int, Path | None]]:
    from seedctl.commands.common import load_spec_from_args

    args.cloud = None
    spec = load_spec_from_args(args, env)
    base = spec.base_dir
    wanted = []
    for drive in spec.drives:
        key = drive.bitlocker.key if drive.bitlocker else None
        if key is None or not key.file:
            raise SeedctlError(f"drive {drive.serial}: the sandbox writes each drive's key to a file; give it "
                               "`bitlocker: {key: {file: keys/<serial>.key}}` in the spec")
        key_file = Path(key.file).expanduser()
        wanted.append((drive.serial, spec.mount_path(drive),
                       drive.capacity or 1024**4, key_file if key_file.is_absolute() else base / key_file))
    return wanted


def _job_from_spec(args: argparse.Namespace, env: Env) -> tuple[str, str | None, str | None]:
    """(job name, resource group, subscription): from the spec, or JOB alone (found by name)."""
    from seedctl.commands.common import load_spec_from_args

    if args.job and not args.file:
        return args.job, args.resource_group, args.subscription
    args.file = args.file or DEFAULT_SPEC
    args.cloud = None
    if not resolve_path(env, args.file).exists():
        raise SeedctlError(f"{args.file} not found: name the job (`seedctl sandbox datacenter JOB`) or the spec "
                           "(`-f FILE`)")
    spec = load_spec_from_args(args, env)
    if spec.import_job is None:
        raise SeedctlError(f"{args.file} has no import_job; name the job: `seedctl sandbox datacenter JOB`")
    return (args.job or spec.import_job.name,
            args.resource_group or spec.import_job.resource_group or spec.azure.resource_group,
            args.subscription or spec.azure.subscription_id)


def _datacenter(args: argparse.Namespace, env: Env) -> int:
    name, group, subscription = _job_from_spec(args, env)
    try:
        job = _control(args, env).advance_job(group, name, args.to_state, subscription=subscription)
    except SandboxError as exc:
        raise SandboxError(f"sandbox datacenter, job {name}: {exc}") from None
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

