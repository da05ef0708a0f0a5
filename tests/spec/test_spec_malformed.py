"""Every spec under malformed/ is rejected with exit 1 and a message naming the field and line.

Each file starts with header comments: `# expect: <fragment>` (one or more, all must appear in
stderr) and optionally `# line: N` (the message must point at that line).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from seedctl.cli import main
from seedctl.env import Env

MALFORMED = Path(__file__).parent / "malformed"
CASES = sorted(MALFORMED.glob("*.yaml"))


def _header(path: Path) -> tuple[list[str], int | None]:
    expect, line = [], None
    for text in path.read_text(encoding="utf-8").splitlines():
        if not text.startswith("#"):
            break
        if text.startswith("# expect: "):
            expect.append(text[len("# expect: "):])
        elif text.startswith("# line: "):
            line = int(text[len("# line: "):])
    return expect, line


pytestmark = pytest.mark.reliability  # also part of the reliability suite (issue 8)


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_malformed_spec_is_rejected(path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["validate", "-f", str(path)], env=Env(stdout=out, stderr=err, environ={}))
    message = err.getvalue()
    assert code == 1, message
    assert out.getvalue() == ""
    assert "Traceback" not in message
    expect, line = _header(path)
    assert expect, f"{path.name} has no '# expect:' header"
    for fragment in expect:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    name = re.escape(str(path))
    assert re.search(rf"{name}:\d+:\d+: ", message), f"no file:line:col in:\n{message}"
    if line is not None:
        assert re.search(rf"{name}:{line}:\d+: ", message), f"line {line} not named in:\n{message}"
