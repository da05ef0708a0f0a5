"""Command-line entry point: parsing, dispatch and exit codes only.

Each command lives in `seedctl/commands/<name>.py` and exposes `register(subparsers)`, which adds
its parser and sets `handler(args, env) -> int`. Logic stays in the library modules.

Startup is kept cheap (`seedctl --version` and every shell-completion TAB run this): command
modules import only argparse-level things at the top and their heavy dependencies (the Azure SDKs,
rich, jsonschema) inside their handlers. `tests/test_cli_conventions.py` keeps it that way.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import re
import sys
from collections.abc import Sequence
from typing import IO, NoReturn

from seedctl import __version__
from seedctl.commands.common import HelpFormatter
from seedctl.env import Env
from seedctl.errors import ExitCode, SeedctlError

# Order is the order of `seedctl --help`.
COMMAND_MODULES = (
    "validate", "init", "schema", "estimate", "plan", "show", "apply", "status", "verify", "repair", "destroy",
    "sandbox", "completion", "docs", "version",
)


class Parser(argparse.ArgumentParser):
    """argparse, except that a usage error exits 1 (not 2): 2 is `plan --detailed-exitcode`'s
    "changes present", and a CI job must never read a typo as drift. A misspelt command, choice or
    flag gets a "did you mean" (git's and az's habit), from this parser's own words."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        hint = did_you_mean(self, message)
        self.exit(int(ExitCode.ERROR), f"{self.prog}: error: {message}\n" + (f"{hint}\n" if hint else ""))


_INVALID_CHOICE = re.compile(r"invalid choice: '([^']*)' \(choose from (.*)\)$")
_UNRECOGNIZED = re.compile(r"unrecognized arguments: (.*)$")


def option_strings(parser: argparse.ArgumentParser) -> list[str]:
    return [s for action in parser._actions for s in action.option_strings]  # noqa: SLF001


def did_you_mean(parser: argparse.ArgumentParser, message: str) -> str | None:
    """"Did you mean `plan`?" for an invalid choice or an unknown flag, or None when nothing is close.

    The words come from the parser (its choices, its option strings), so a suggestion always exists."""
    import difflib

    choice = _INVALID_CHOICE.search(message)
    if choice:
        word, listed = choice.group(1), re.findall(r"'([^']*)'", choice.group(2))
        close = difflib.get_close_matches(word, listed, n=1, cutoff=0.6)
        return f"Did you mean `{close[0]}`?" if close else None
    unknown = _UNRECOGNIZED.search(message)
    if unknown:
        hints = []
        for word in unknown.group(1).split():
            flag = word.split("=", 1)[0]
            if not flag.startswith("-"):
                continue
            close = difflib.get_close_matches(flag, option_strings(parser), n=1, cutoff=0.6)
            if close:
                hints.append(f"Did you mean `{close[0]}` (for {flag})?")
        return " ".join(hints) or None
    return None


EPILOG = """\
examples:
  seedctl init                          write a commented seed.yaml to edit
  seedctl validate                      check it: every problem with file:line:col
  seedctl estimate --drive-size 8TB     drives to buy, copy time and the calendar, from staging alone
  seedctl plan -out=plan.json           what apply would change (nothing is changed)
  seedctl apply plan.json               do exactly that plan; ends with the next steps
  seedctl status                        the job, its deadlines and what to do next
  seedctl sandbox up                    try everything on a local Azure first

Each command has its own examples: seedctl COMMAND --help. The guides installed with seedctl
(getting started, buying drives, every command and message): seedctl docs.

exit codes: 0 success, 1 error or usage error, 2 changes (plan --detailed-exitcode),
3/4 status needs attention/critical, 130 interrupted."""


def _add_global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """-v, --no-color and --chdir, accepted before or after the command (`seedctl -v plan` and
    `seedctl plan -v`). On subcommands the defaults are SUPPRESS, so a flag given only before the
    command is not reset by the subcommand's own default."""
    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    group = parser.add_argument_group("global options") if not top else parser
    group.add_argument("-v", "--verbose", "--debug", action="store_true", default=default(False),
                       help="debug logs (the credential, tenant and subscription used; every HTTP request with "
                            "its status and time; retries; why each node is a no-op or skipped) and, on an "
                            "error, the traceback; secrets redacted")
    group.add_argument("--no-color", action="store_true", default=default(False),
                       help="no colour, as with NO_COLOR set (colour is used only on a terminal anyway)")
    group.add_argument("-C", "--chdir", metavar="DIR", default=default(None),
                       help="run as if started in DIR (relative spec, plan and output paths are taken from it)")


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:  # noqa: SLF001 - argparse has no public accessor
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for sub in dict.fromkeys(action.choices.values()):
                found.append(sub)
                found.extend(_subparsers(sub))
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="seedctl",
        description="Declarative plan/apply for Azure Backup offline seeding (Import/Export and Data Box disks).",
        epilog=EPILOG, formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"seedctl {__version__}",
                        help="print the version and exit")
    _add_global_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", help="the command to run (`seedctl COMMAND -h`)")
    for name in COMMAND_MODULES:
        importlib.import_module(f"seedctl.commands.{name}").register(sub)
    for child in _subparsers(parser):
        _add_global_options(child, top=False)
    return parser


def command_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the (sub)command `args` were parsed for: `seedctl sandbox drive`'s for
    `seedctl sandbox drive --bogus`, the top one when no command was given."""
    while True:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]  # noqa: SLF001
        chosen = getattr(args, subs[0].dest, None) if subs else None
        if not subs or chosen not in subs[0].choices:
            return parser
        parser = subs[0].choices[chosen]


def _autocomplete(parser: argparse.ArgumentParser) -> None:
    """Answer a shell-completion request (argcomplete sets _ARGCOMPLETE) and exit; else nothing."""
    if "_ARGCOMPLETE" not in os.environ:
        return
    try:
        import argcomplete
    except ImportError:
        return
    argcomplete.autocomplete(parser)


def _version_only(argv: Sequence[str]) -> bool:
    return list(argv) == ["--version"]


def _print_error(env: Env, exc: SeedctlError, verbose: bool) -> None:
    from seedctl.azure.redact import redact

    if verbose:
        import traceback

        env.stderr.write(redact("".join(traceback.format_exception(exc))))
    print(f"Error: {redact(str(exc))}", file=env.stderr)


def main(argv: Sequence[str] | None = None, env: Env | None = None) -> int:
    own_process = env is None
    env = env or Env()
    argv = list(sys.argv[1:] if argv is None else argv)
    if _version_only(argv):  # the common scripted check, without building every parser
        print(f"seedctl {__version__}", file=env.stdout)
        return ExitCode.OK
    parser = build_parser()
    if own_process:
        _autocomplete(parser)
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:  # reported by the command's own parser: its usage line, its flags to suggest
            command_parser(parser, args).error(f"unrecognized arguments: {' '.join(extras)}")
    except SystemExit as exc:  # usage errors (exit 1), --help and --version (exit 0)
        return int(exc.code or 0) if isinstance(exc.code, int) or exc.code is None else ExitCode.ERROR
    if args.chdir:
        where = os.path.abspath(os.path.join(env.cwd, os.path.expanduser(args.chdir)))
        if not os.path.isdir(where):
            print(f"Error: --chdir {args.chdir}: no such folder", file=env.stderr)
            return ExitCode.ERROR
        if own_process:
            os.chdir(where)
        env = dataclasses.replace(env, cwd=where)
    if args.no_color:
        env = dataclasses.replace(env, no_color=True)
    from seedctl.logs import configure as configure_logging

    configure_logging(env.stderr, verbose=args.verbose)
    if not getattr(args, "handler", None):
        parser.print_help(env.stderr)
        return ExitCode.ERROR
    from seedctl.interrupt import stop_on_signals

    try:
        with stop_on_signals():  # Ctrl-C and SIGTERM also stop drive writes in worker threads
            return int(args.handler(args, env))
    except SeedctlError as exc:
        _print_error(env, exc, args.verbose)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print(f"Interrupted. Completed work is kept (drives journal every finished file; the file in flight "
              f"is redone): run `seedctl {args.command}` again to resume.", file=env.stderr)
        return ExitCode.INTERRUPTED


def _utf8(stream: IO[str]) -> None:
    # Plans use "→" and "…"; a redirected stream on Windows defaults to a code page without them.
    if hasattr(stream, "reconfigure") and (stream.encoding or "").lower() not in ("utf-8", "utf8"):
        stream.reconfigure(encoding="utf-8", errors="replace")


def run() -> None:
    for stream in (sys.stdout, sys.stderr):
        _utf8(stream)
    try:
        sys.exit(main())
    except BrokenPipeError:
        # the reader went away (`seedctl docs commands | head`): no traceback. Python flushes stdout
        # again at exit, so point it at devnull first (the recipe of the signal module's docs)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(int(ExitCode.ERROR))


if __name__ == "__main__":
    run()
