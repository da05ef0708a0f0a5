"""Flags and steps that several commands share: which spec, which cloud, loading it.

Kept free of heavy imports (the spec loader pulls in jsonschema and PyYAML): the parser is built on
every run, including `--version` and shell completion. The few constants the parser needs are
repeated here; tests/test_cli_conventions.py checks they match seedctl.spec."""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING

from seedctl.env import Env

if TYPE_CHECKING:
    from seedctl.spec.model import SeedingSpec

DEFAULT_SPEC = "seed.yaml"  # = seedctl.spec.DEFAULT_SPEC
CLOUDS = ("AzureCloud", "AzureUSGovernment", "AzureChinaCloud", "sandbox")  # = seedctl.spec.model.CLOUDS
JOB_APIS = ("importexport", "databox")  # = seedctl.spec.model.JOB_APIS


class HelpFormatter(argparse.HelpFormatter):
    """Descriptions wrapped to the terminal as usual; a text laid out by hand (an examples epilog,
    anything with line breaks) printed as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--file", default=DEFAULT_SPEC, help=f"the seeding spec (default: {DEFAULT_SPEC})")
    parser.add_argument("--cloud", choices=CLOUDS,
                        help="override the spec's azure.cloud (e.g. --cloud sandbox to try a spec locally)")


def add_local_state_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--local-state", choices=("auto", "skip", "require"), default="auto",
        help="drives and staging: auto = observe what is attached here and defer the rest to apply "
             "(default); skip = never look (CI runners); require = fail unless everything is here")


OUTPUTS = ("table", "json", "yaml")


def add_output_argument(parser: argparse.ArgumentParser, *, what: str) -> None:
    """az-style `-o/--output table|json|yaml` (`--json` stays as the short form of `-o json`)."""
    parser.add_argument("-o", "--output", choices=OUTPUTS, default=None,
                        help=f"how to print {what}: table (for people, default), json or yaml (exact values)")
    parser.add_argument("--json", action="store_true", help="same as --output json")


def output_of(args: argparse.Namespace) -> str:
    return "json" if args.json else (args.output or "table")


def dump_data(data: object, output: str, *, indent: int | None = 2) -> str:
    """`data` as JSON or YAML text (for -o json|yaml), ending with a newline."""
    import json

    if output == "yaml":
        import yaml

        return yaml.safe_dump(data, sort_keys=True, allow_unicode=True, default_flow_style=False)
    return json.dumps(data, sort_keys=True, indent=indent) + "\n"


def resolve_path(env: Env, file: str) -> Path:
    path = Path(file)
    if path.is_absolute():
        return path
    if os.path.abspath(env.cwd) == os.getcwd():
        return path  # keep the name as typed, so messages read "seed.yaml:3:1"
    return Path(env.cwd) / path


def load_spec_from_args(args: argparse.Namespace, env: Env, *, check_secrets: bool = False) -> SeedingSpec:
    return load_spec_with_warnings(args, env, check_secrets=check_secrets)[0]


def load_spec_with_warnings(args: argparse.Namespace, env: Env, *,
                            check_secrets: bool = False) -> tuple[SeedingSpec, tuple[str, ...]]:
    """The spec named by -f/--cloud, and the warnings its validation found (`file:line:col: …`)."""
    from seedctl.spec import validate_spec

    result = validate_spec(resolve_path(env, args.file), check_secrets=check_secrets, environ=env.environ,
                           display_name=args.file)
    spec = result.spec
    cloud = getattr(args, "cloud", None)
    if cloud and cloud != spec.azure.cloud:
        spec = dataclasses.replace(spec, azure=dataclasses.replace(spec.azure, cloud=cloud))
    return spec, tuple(result.warnings)


def spec_locator(args: argparse.Namespace, env: Env) -> object:
    """Finds the spec line a node's message is about, for the closing list of plan and apply."""
    from seedctl.commands.ending import SpecLocator

    return SpecLocator(resolve_path(env, args.file), args.file)
