"""The user documentation stays true to the code.

- every `seedctl <command>` named in docs/commands.md is a real command (and sandbox action), and
  every example command line in the docs (`$ seedctl …`) parses with the real CLI parser;
- every `--flag` docs/commands.md mentions exists on some seedctl command;
- every relative link in README.md and docs/*.md points at an existing file, and every `#anchor`
  into a markdown file names a real heading;
- examples/github-workflow.yml parses and has the pull-request plan job and the apply job the
  GitOps guide describes, and the seedctl command lines in it parse.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml

from seedctl.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
COMMANDS_MD = DOCS / "commands.md"
WORKFLOW = ROOT / "examples" / "github-workflow.yml"

# Flags of other tools that the command reference quotes (az, the demo script).
FOREIGN_FLAGS = {"--namespace", "--query", "--subscription-id", "--keep", "--work", "--size-mb"}


# -- the CLI parser -------------------------------------------------------------------------------
def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # noqa: SLF001 - argparse has no public accessor
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return dict(action.choices)
    return {}


PARSER = build_parser()
COMMANDS = _subparsers(PARSER)
SANDBOX_ACTIONS = _subparsers(COMMANDS["sandbox"])


def _all_option_strings() -> set[str]:
    seen: set[str] = set()
    stack = [PARSER]
    while stack:
        parser = stack.pop()
        for action in parser._actions:  # noqa: SLF001
            seen.update(action.option_strings)
        stack.extend(_subparsers(parser).values())
    return seen


def _parses(argv: list[str]) -> str | None:
    """None when the real parser accepts `argv`, else why not."""
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            PARSER.parse_args(argv)
    except SystemExit as exc:
        return f"argparse exit {exc.code}"
    return None


def _argv_of(line: str) -> list[str]:
    """`seedctl …` command line → its arguments, without redirections, pipes and comments."""
    line = re.split(r"\s(?:>>?|<|\||&&|\|\||;)\s|\s#\s|\s2>", " " + line + " ")[0]
    words = shlex.split(line, comments=False)
    assert words and words[0] == "seedctl", line
    return words[1:]


# -- markdown helpers -----------------------------------------------------------------------------
FENCE = re.compile(r"^(`{3,}|~{3,})")


def _split_fences(text: str) -> tuple[list[str], list[str]]:
    """(lines inside fenced code blocks, lines outside them)."""
    inside, outside, fence = [], [], None
    for line in text.splitlines():
        m = FENCE.match(line.strip())
        if m and (fence is None or m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence)):
            fence = None if fence else m.group(1)
            continue
        (inside if fence else outside).append(line)
    return inside, outside


def _code_spans(line: str) -> list[str]:
    return [m.group(2).strip() for m in re.finditer(r"(`+)(.+?)\1", line)]


def _example_lines(path: Path) -> list[str]:
    """Command lines shown as typed by a user: `$ seedctl …` in code blocks."""
    inside, _ = _split_fences(path.read_text(encoding="utf-8"))
    return [line.strip()[2:] for line in inside if line.strip().startswith("$ seedctl ")]


def github_slug(heading: str) -> str:
    text = re.sub(r"`([^`]*)`", r"\1", heading.strip())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links → their text
    text = text.lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def anchors_of(path: Path) -> set[str]:
    _, outside = _split_fences(path.read_text(encoding="utf-8"))
    slugs: set[str] = set()
    counts: dict[str, int] = {}
    for line in outside:
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        slug = github_slug(m.group(1))
        n = counts.get(slug, 0)
        counts[slug] = n + 1
        slugs.add(slug if n == 0 else f"{slug}-{n}")
    return slugs


LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def relative_links(path: Path) -> list[str]:
    _, outside = _split_fences(path.read_text(encoding="utf-8"))
    links = []
    for line in outside:
        line = re.sub(r"(`+).+?\1", "", line)  # links inside code spans are not links
        links += [m.group(1) for m in LINK.finditer(line)]
    return [t for t in links if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]  # drop http:, mailto:, …


MARKDOWN_FILES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


# -- docs/commands.md ------------------------------------------------------------------------------
def test_every_command_named_in_the_command_reference_exists() -> None:
    text = COMMANDS_MD.read_text(encoding="utf-8")
    inside, outside = _split_fences(text)
    named: list[tuple[str, str | None]] = []
    for line in outside:
        for span in _code_spans(line):
            m = re.match(r"^seedctl ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", span)
            if m:
                named.append((m.group(1), m.group(2)))
    for line in inside:
        m = re.match(r"^\s*(?:\$ )?seedctl ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?(?: \[|\s|$)", line)
        if m and (line.lstrip().startswith("$ ") or "[" in line):  # typed commands and usage lines
            named.append((m.group(1), m.group(2)))
    assert len(named) > 30, "the reference should name the commands it documents"
    unknown = sorted({cmd for cmd, _ in named if cmd not in COMMANDS})
    assert not unknown, f"docs/commands.md names commands the CLI does not have: {unknown}"
    actions = sorted({sub for cmd, sub in named if cmd == "sandbox" and sub and sub not in SANDBOX_ACTIONS})
    assert not actions, f"docs/commands.md names sandbox actions the CLI does not have: {actions}"
    documented = {cmd for cmd, _ in named}
    missing = sorted(set(COMMANDS) - documented)
    assert not missing, f"commands missing from docs/commands.md: {missing}"
    headings = {github_slug(f"`seedctl {c}`") for c in COMMANDS}
    assert headings <= anchors_of(COMMANDS_MD), "every command has its own section"


def test_every_flag_in_the_command_reference_exists() -> None:
    text = COMMANDS_MD.read_text(encoding="utf-8")
    flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*[a-z])", text))
    unknown = sorted(flags - _all_option_strings() - FOREIGN_FLAGS)
    assert not unknown, f"docs/commands.md mentions flags no seedctl command has: {unknown}"


@pytest.mark.parametrize("path", [p for p in MARKDOWN_FILES if _example_lines(p)], ids=lambda p: p.name)
def test_example_command_lines_parse(path: Path) -> None:
    bad = [(line, why) for line in _example_lines(path)
           if (why := _parses(_argv_of(line))) is not None]
    assert not bad, f"{path.name}: example command lines the CLI rejects: {bad}"


# -- links ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", MARKDOWN_FILES, ids=lambda p: p.name)
def test_relative_links_point_at_existing_files(path: Path) -> None:
    broken = []
    for target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        dest = path if not file_part else (path.parent / file_part).resolve()
        rel = dest.relative_to(ROOT).as_posix() if dest.is_relative_to(ROOT) else str(dest)
        if not dest.exists():
            broken.append(f"{target} (no such file)")
            continue
        if anchor and dest.suffix == ".md" and anchor not in anchors_of(dest):
            broken.append(f"{target} (no heading #{anchor} in {rel})")
    assert not broken, f"{path.relative_to(ROOT)}: broken links: {broken}"


def test_the_link_checker_catches_a_broken_link(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [gone](missing.md) [web](https://example.com)\n"
                    "```\n[not a link](nowhere.md)\n```\n", encoding="utf-8")
    assert relative_links(page) == ["#title", "missing.md"]
    assert anchors_of(page) == {"title"}
    assert github_slug("1. Pick the job back end") == "1-pick-the-job-back-end"
    assert github_slug("`seedctl sandbox`") == "seedctl-sandbox"


# -- the example workflow ---------------------------------------------------------------------------
def _workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _triggers(data: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 (PyYAML) reads the key `on` as the boolean true
    return data.get("on", data.get(True)) or {}


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job.get("steps", []))


def _uses(job: dict[str, Any]) -> list[str]:
    return [str(step.get("uses", "")) for step in job.get("steps", [])]


def _seedctl_lines(script: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", script)
    return [line.strip() for line in joined.splitlines() if line.strip().startswith("seedctl ")]


def test_workflow_parses_and_has_the_triggers() -> None:
    triggers = _triggers(_workflow())
    assert "pull_request" in triggers and "push" in triggers


def test_workflow_pull_request_plan_job() -> None:
    jobs = _workflow()["jobs"]
    pr_jobs = [j for j in jobs.values() if "pull_request" in str(j.get("if", ""))
               and "seedctl plan" in _runs(j)]
    assert len(pr_jobs) == 1, "one job plans pull requests"
    job = pr_jobs[0]
    runs = _runs(job)
    for flag in ("--format markdown", "--local-state skip", "--detailed-exitcode", "--out plan.json"):
        assert flag in runs, flag
    assert job["permissions"].get("id-token") == "write"
    assert job["permissions"].get("pull-requests") == "write"
    uses = _uses(job)
    assert any(u.startswith("azure/login@") for u in uses)
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    assert any(u.startswith("actions/github-script@") for u in uses), "posts/updates the PR comment"
    login = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("azure/login@"))
    assert set(login["with"]) >= {"client-id", "tenant-id", "subscription-id"}
    assert "client-secret" not in str(login["with"]) and "creds" not in login["with"], "OIDC, no secret"


def test_workflow_apply_job() -> None:
    jobs = _workflow()["jobs"]
    apply_jobs = [(name, j) for name, j in jobs.items() if "seedctl apply" in _runs(j)]
    assert len(apply_jobs) == 1, "one job applies"
    _, job = apply_jobs[0]
    assert "self-hosted" in job["runs-on"], "apply runs on the copy computer"
    assert "seedctl apply plan.json" in _runs(job), "apply uses the saved plan"
    assert job["permissions"].get("id-token") == "write"
    assert job.get("environment"), "an environment gates the apply (approval, apply identity)"
    concurrency = job.get("concurrency") or {}
    assert concurrency.get("group") and concurrency.get("cancel-in-progress") is False
    needs = job.get("needs")
    needs = [needs] if isinstance(needs, str) else list(needs or [])
    assert needs and all(n in jobs for n in needs)
    plan_job = jobs[needs[0]]
    assert "--out plan.json" in _runs(plan_job)
    assert any(u.startswith("actions/upload-artifact@") for u in _uses(plan_job))
    assert any(u.startswith("actions/download-artifact@") for u in _uses(job))
    assert "pull_request" not in str(job.get("if", "")), "never applies a pull request"


def test_workflow_seedctl_command_lines_parse() -> None:
    lines = [line for job in _workflow()["jobs"].values() for line in _seedctl_lines(_runs(job))]
    assert len(lines) >= 5
    bad = [(line, why) for line in lines if (why := _parses(_argv_of(line))) is not None]
    assert not bad, f"seedctl command lines in the workflow the CLI rejects: {bad}"
