"""`seedctl docs [GUIDE]`: the guides, as installed with seedctl.

The wheel carries docs/ (seedctl/data/docs is a link to it, packaged like the schemas), so what
`--help` points to exists wherever seedctl was installed with pip — no clone, no web address."""

from __future__ import annotations

import argparse

from seedctl.commands.common import HelpFormatter
from seedctl.env import Env
from seedctl.errors import ExitCode, SeedctlError

EXAMPLES = """\
examples:
  seedctl docs                       list the guides and where they are installed
  seedctl docs getting-started       print one (markdown)
  seedctl docs buying-drives | less"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "docs", help="list or print the guides installed with seedctl",
        description="The documentation ships with seedctl: without a guide name, list the guides and the "
                    "folder they are in; with one, print it.",
        epilog=EXAMPLES, formatter_class=HelpFormatter)
    parser.add_argument("guide", nargs="?", metavar="GUIDE",
                        help="a guide's name, e.g. getting-started, buying-drives, commands, troubleshooting")
    parser.set_defaults(handler=run)


def docs_folder() -> object:
    """The installed guides (a Traversable: a folder in a wheel install or in the source tree)."""
    from importlib.resources import files

    return files("seedctl") / "data" / "docs"


def _title(text: str) -> str:
    return next((line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("# ")), "")


def run(args: argparse.Namespace, env: Env) -> int:
    folder = docs_folder()
    guides = {entry.name[:-3]: entry for entry in folder.iterdir() if entry.name.endswith(".md")}  # type: ignore[attr-defined]
    if not guides:
        raise SeedctlError(f"no guides found in {folder}: this installation of seedctl lacks its docs; "
                           "reinstall it from a wheel built by CI (README, Install)")
    if args.guide:
        name = args.guide[:-3] if args.guide.endswith(".md") else args.guide
        starting = [g for g in guides if g.startswith(name)]
        if name not in guides and len(starting) == 1:
            name = starting[0]  # a unique beginning is enough: `seedctl docs getting`
        if name not in guides:
            import difflib

            close = difflib.get_close_matches(name, list(guides), n=1)
            raise SeedctlError(f"no guide named {args.guide!r}" + (f"; did you mean {close[0]!r}?" if close else "")
                               + f" (the guides: {', '.join(sorted(guides))})")
        env.stdout.write(guides[name].read_text(encoding="utf-8"))
        return ExitCode.OK
    env.stdout.write(f"The guides installed with seedctl, in {folder}:\n\n")
    width = max(map(len, guides))
    for name in sorted(guides):
        env.stdout.write(f"  {name:<{width}}  {_title(guides[name].read_text(encoding='utf-8'))}\n")
    env.stdout.write("\nPrint one with: seedctl docs NAME (markdown; `| less` to page)\n")
    return ExitCode.OK
