"""Flags and steps that several commands share: which spec, which cloud, loading it."""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

from seedctl.env import Env
from seedctl.spec import DEFAULT_SPEC, load_spec
from seedctl.spec.model import CLOUDS, SeedingSpec


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--file", default=DEFAULT_SPEC, help=f"the seeding spec (default: {DEFAULT_SPEC})")
    parser.add_argument("--cloud", choices=CLOUDS,
                        help="override the spec's azure.cloud (e.g. --cloud sandbox to try a spec locally)")


def add_local_state_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--local-state", choices=("auto", "skip", "require"), default="auto",
        help="drives and staging: auto = observe what is attached here and defer the rest to apply "
             "(default); skip = never look (CI runners); require = fail unless everything is here")


def resolve_path(env: Env, file: str) -> Path:
    path = Path(file)
    if path.is_absolute():
        return path
    if os.path.abspath(env.cwd) == os.getcwd():
        return path  # keep the name as typed, so messages read "seed.yaml:3:1"
    return Path(env.cwd) / path


def load_spec_from_args(args: argparse.Namespace, env: Env, *, check_secrets: bool = False) -> SeedingSpec:
    spec = load_spec(resolve_path(env, args.file), check_secrets=check_secrets, environ=env.environ,
                     display_name=args.file)
    cloud = getattr(args, "cloud", None)
    if cloud and cloud != spec.azure.cloud:
        spec = dataclasses.replace(spec, azure=dataclasses.replace(spec.azure, cloud=cloud))
    return spec
