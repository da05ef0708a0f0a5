"""The end-to-end demo behind the README's first command (`make demo`).

Everything runs on this machine: a local sandbox (ARM over HTTPS + Azurite), a staging folder of a
few hundred MB shaped like a backup agent's (`*.BaseBlob` / `*.AIBBlob` files with long zero runs, one
folder per data source), two simulated drives. It then does what an operator does — validate, plan, apply,
enter the shipment, apply again, let the (simulated) datacenter import the drives, check status,
verify what arrived — printing each command and its real output. Run: python -m seedctl.demo
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from seedctl.agentdata import make_agent_staging
from seedctl.units import format_bytes

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "sandbox-demo.yaml"
SERIALS = ("SANDBOX-DRIVE-01", "SANDBOX-DRIVE-02")
DRIVE_CAPACITY = "256MB"
SHIPMENT = """
shipment:
  carrier_name: FedEx
  tracking_number: "1Z-DEMO-0001"
  ship_date: "{date}"
"""


def banner(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m" if _bold() else f"\n== {text}", flush=True)


def _bold() -> bool:
    """Bold headings only where the terminal shows escape codes (a classic Windows console without
    VT mode would print them raw) and colour is not switched off."""
    if not sys.stdout.isatty() or os.environ.get("NO_COLOR"):
        return False
    from seedctl.win32.console import escape_codes_work

    return escape_codes_work(sys.stdout)


def seedctl(*args: str, cwd: Path, env: dict[str, str], allow: tuple[int, ...] = (0,)) -> int:
    print(f"$ seedctl {shlex.join(args)}", flush=True)
    done = subprocess.run([sys.executable, "-m", "seedctl.cli", *args], cwd=cwd, env=env)
    if done.returncode not in allow:
        raise SystemExit(f"demo stopped: `seedctl {shlex.join(args)}` exited {done.returncode}")
    return done.returncode


def make_staging(root: Path, total_mb: int, seed: int = 2026) -> tuple[int, int]:
    """A staging tree shaped like the backup agent's: per data source a `*.BaseBlob` and a
    `*.AIBBlob`, sizes a multiple of 512, long zero runs (seedctl.agentdata). Returns (files, bytes)."""
    files = make_agent_staging(root, total_mb * 1000 * 1000, seed=seed)
    return len(files), sum(f.size for f in files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=REPO / "demo-work", help="demo folder (recreated)")
    parser.add_argument("--size-mb", type=int, default=300, help="staging size in MB (default 300)")
    parser.add_argument("--keep", action="store_true", help="leave the sandbox running at the end")
    args = parser.parse_args(argv)
    started = time.monotonic()
    work = args.work.resolve()
    if work.exists():
        subprocess.run([sys.executable, "-m", "seedctl.cli", "sandbox", "down", "--dir", str(work / "sandbox")],
                       capture_output=True)
        shutil.rmtree(work)
    work.mkdir(parents=True)
    env = dict(os.environ, SEEDCTL_SANDBOX_DIR=str(work / "sandbox"), PYTHONUNBUFFERED="1")

    banner("1. Start the local Azure sandbox (ARM REST over HTTPS on loopback + Azurite)")
    seedctl("sandbox", "up", cwd=work, env=env)
    try:
        banner("2. The spec, a staging folder like the backup agent leaves, and two drives")
        spec = EXAMPLE.read_text(encoding="utf-8").replace("./demo-work/", "./")
        (work / "seed.yaml").write_text(spec, encoding="utf-8")
        files, size = make_staging(work / "staging", args.size_mb)
        print(f"staging: {files} files, {format_bytes(size)} in {work / 'staging'}")
        for i, serial in enumerate(SERIALS, 1):
            seedctl("sandbox", "drive", serial, f"drives/d{i}", "--capacity", DRIVE_CAPACITY,
                    "--key-out", f"keys/{serial}.key", cwd=work, env=env)
        seedctl("validate", cwd=work, env=env)

        banner("3. Plan: what would change (nothing is touched)")
        seedctl("plan", "--out", "plan.json", cwd=work, env=env)

        banner("4. Apply the reviewed plan: provider, groups, vault, account, container, drives, job")
        seedctl("apply", "plan.json", cwd=work, env=env)

        banner("5. Apply again: nothing to do")
        seedctl("plan", "--detailed-exitcode", cwd=work, env=env)

        banner("6. The drives have left: add the shipment to the spec, plan and apply")
        with open(work / "seed.yaml", "a", encoding="utf-8") as handle:
            handle.write(SHIPMENT.format(date=time.strftime("%Y-%m-%d")))
        seedctl("plan", cwd=work, env=env)
        seedctl("apply", "--auto-approve", cwd=work, env=env)

        banner("7. The (simulated) datacenter receives the drives and imports them")
        seedctl("status", cwd=work, env=env, allow=(0, 3))
        seedctl("sandbox", "datacenter", "--to", "Completed", cwd=work, env=env)  # the job of ./seed.yaml

        banner("8. Status, then verify every blob against the drive manifests")
        seedctl("status", cwd=work, env=env)
        seedctl("verify", cwd=work, env=env)
    finally:
        if not args.keep:
            banner("9. Stop the sandbox")
            seedctl("sandbox", "down", cwd=work, env=env, allow=(0, 1))
    print(f"\nDemo complete in {time.monotonic() - started:.0f} s. Files are in {work}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
