"""`seedctl completion bash|zsh|fish|powershell`: print the shell-completion script.

argcomplete, not shtab: shtab writes static scripts for bash, zsh and tcsh only, while argcomplete
covers all four shells our users have (bash, zsh, fish and PowerShell on the Windows copy
computers) from the one argparse parser. It completes by running seedctl with _ARGCOMPLETE set,
which stays fast because the CLI imports command code lazily (`seedctl --version` < 0.2 s).
"""

from __future__ import annotations

import argparse

from seedctl.env import Env
from seedctl.errors import ExitCode, SeedctlError

SHELLS = ("bash", "zsh", "fish", "powershell")
HOW = {
    "bash": 'eval "$(seedctl completion bash)"            # add to ~/.bashrc',
    "zsh": 'eval "$(seedctl completion zsh)"             # add to ~/.zshrc',
    "fish": "seedctl completion fish | source            # add to ~/.config/fish/config.fish",
    "powershell": "seedctl completion powershell | Out-String | Invoke-Expression   # add to $PROFILE",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "completion", help="print the shell-completion script (bash, zsh, fish, PowerShell)",
        description="Print a script that makes your shell complete seedctl's commands, flags and "
                    "choices. Load it from your shell's start-up file:\n  " + "\n  ".join(HOW.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shell", choices=SHELLS, metavar="SHELL", help="one of: " + ", ".join(SHELLS))
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, env: Env) -> int:
    try:
        import argcomplete
    except ImportError:
        raise SeedctlError("shell completion needs the argcomplete package: pip install argcomplete") from None
    env.stdout.write(argcomplete.shellcode(["seedctl"], shell=args.shell))
    return ExitCode.OK
