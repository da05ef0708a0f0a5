"""The docs can be followed without a clone and without guessing (issue 25, item 6).

A placeholder here is a stand-in the *reader cannot fill in*: the project's own home
(`github.com/<owner>/seedctl`), a URL with `…` in it, an install line with a `<…>` to invent. A
stand-in for the reader's own value — their serial number `<serial>`, their repository
`repo:<owner>/<repo>` in an OIDC subject — is fine, inside code where it is copied and edited.
Prose ellipses in quoted messages ("… the mount point now leads to …") are not placeholders.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
URL = re.compile(r"(?:https?|git\+https?)://[^\s)\"'`]*")
ANGLE = re.compile(r"<[a-z][a-z-]*>")
PROJECT_HOME = re.compile(r"github\.com/<[^>]*>/seedctl|/seedctl@[<…]")


def _lines(page: Path) -> list[tuple[int, str, str]]:
    """(line number, the whole line, the line without its code) outside fenced blocks; fenced lines
    have "" as their prose."""
    out, fenced = [], False
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        out.append((number, line, "" if fenced else INLINE_CODE.sub("", line)))
    return out


def placeholders(page: Path) -> list[str]:
    found = []
    for number, line, prose in _lines(page):
        where = f"{page.relative_to(ROOT)}:{number}"
        if PROJECT_HOME.search(line):
            found.append(f"{where}: the project's own home as a placeholder: {line.strip()}")
        for url in URL.findall(line):
            # an ellipsis in a URL is never something the reader can fill in
            if "…" in url or "..." in url:
                found.append(f"{where}: a URL with an ellipsis: {url}")
        if "pip install" in line and (ANGLE.search(line) or "…" in line):
            found.append(f"{where}: an install line to complete by guessing: {line.strip()}")
        if ANGLE.search(prose) and any(word in prose for word in ("<owner>", "<repo>", "<commit")):
            found.append(f"{where}: a placeholder outside code: {line.strip()}")
    return found


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_no_placeholders(page: Path) -> None:
    assert placeholders(page) == []


def test_the_check_finds_what_issue_25_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text('Install: `pip install "git+https://github.com/<owner>/seedctl@…"`\n\n'
                   "```yaml\n# yaml-language-server: $schema=https://…/seeding-spec.schema.json\n```\n"
                   "Ask <owner> for access.\n", encoding="utf-8")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        found = placeholders(bad)
    finally:
        ROOT = saved
    assert len([f for f in found if "project's own home" in f]) == 1
    assert len([f for f in found if "URL with an ellipsis" in f]) == 2
    assert any("install line" in f for f in found) and any("outside code" in f for f in found)


def test_a_readers_own_values_in_code_are_fine(tmp_path: Path) -> None:
    page = tmp_path / "ok.md"
    page.write_text("Subject: `repo:<owner>/<repo>:environment:seeding`; keys in `./keys/<serial>.key`.\n"
                    "The message reads \"drive X at M: … the mount point now leads to …\".\n", encoding="utf-8")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert placeholders(page) == []
    finally:
        ROOT = saved
