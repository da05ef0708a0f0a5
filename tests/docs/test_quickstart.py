"""The README's sandbox quick start, run exactly as written (the block after the
`<!-- quickstart: sandbox -->` marker) in an empty folder, by bash with `set -e`, with the
installed `seedctl` on PATH. It must reach a verified import.

Only the sandbox folder is redirected (SEEDCTL_SANDBOX_DIR), so the test never touches a sandbox the
developer has running."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from platforms import posix_only

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- quickstart: sandbox -->"


def quickstart_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = text.split(MARKER, 1)[1]
    match = re.match(r"\s*```sh\n(.*?)\n```", after, re.S)
    assert match, "the marker is followed by a ```sh block"
    return match.group(1)


def test_the_block_is_the_whole_sequence() -> None:
    block = quickstart_block()
    lines = [line.split("#")[0].strip() for line in block.splitlines()]
    for step in ("seedctl sandbox up", "seedctl init --sandbox", "seedctl sandbox drive", "seedctl apply",
                 "shipment:", "seedctl sandbox datacenter", "seedctl status", "seedctl verify",
                 "seedctl sandbox down"):
        assert any(line.startswith(step) for line in lines), step
    assert "<" not in block.replace("<<'EOF'", ""), "no placeholders such as <job-name>"


@posix_only("runs the README's sh block with bash and the venv's bin/seedctl (the PowerShell form of "
            "the quick start is not run by a test)")
@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_readme_quickstart_runs_verbatim_to_a_verified_import(tmp_path: Path) -> None:
    work = tmp_path / "quickstart"
    work.mkdir()
    sandbox_dir = tmp_path / "sandbox"
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "seedctl").exists(), "seedctl is installed in this environment"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDCTL_")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", SEEDCTL_SANDBOX_DIR=str(sandbox_dir),
               NO_COLOR="1")
    script = "set -euo pipefail\nset -x\n" + quickstart_block() + "\n"
    try:
        done = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True,
                              timeout=600, stdin=subprocess.DEVNULL)
    finally:
        subprocess.run([str(bin_dir / "seedctl"), "sandbox", "down", "--dir", str(sandbox_dir)],
                       capture_output=True, timeout=60)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    assert "Verified: every file arrived intact" in done.stdout, log[-4000:]
    assert re.search(r"\d+ files \(.*\): (\d+) ok, 0 missing, 0 wrong length, 0 damaged", done.stdout)
    assert "state:    Completed" in done.stdout
    assert "delivery package: FedEx SANDBOX-0001" in done.stdout, "the shipment step took effect"
    assert (work / "seed.yaml").exists() and (work / "staging").is_dir()
