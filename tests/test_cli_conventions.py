"""The conventions users bring from other CLIs: global options before or after the command, usage
errors exit 1, help for every argument, shell completion, a cheap start-up, per-OS folders."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from seedctl.cli import _subparsers, build_parser, main
from seedctl.env import Env, user_dir

ROOT = Path(__file__).resolve().parents[1]


def _run(argv: list[str], cwd: Path | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, Env(stdout=out, stderr=err, environ={}, cwd=str(cwd or Path.cwd())))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("argv", [["-v", "plan"], ["plan", "-v"], ["plan", "--verbose", "-f", "x.yaml"],
                                  ["sandbox", "status", "-v"], ["-v", "sandbox", "drive", "-v", "S", "p"]])
def test_verbose_before_or_after_the_command(argv: list[str]) -> None:
    assert build_parser().parse_args(argv).verbose is True


def test_global_options_default_off_and_are_not_reset_by_the_subcommand() -> None:
    args = build_parser().parse_args(["plan"])
    assert (args.verbose, args.no_color, args.chdir) == (False, False, None)
    args = build_parser().parse_args(["--no-color", "-C", "/tmp", "status"])
    assert (args.no_color, args.chdir) == (True, "/tmp")
    assert build_parser().parse_args(["status", "--no-color"]).no_color is True


@pytest.mark.parametrize("argv", [["plan", "--bogus"], ["no-such-command"], ["plan", "--local-state", "maybe"],
                                  ["sandbox"], ["show"], ["status", "--output", "xml"]])
def test_usage_errors_exit_1_not_2(argv: list[str]) -> None:
    # 2 is `plan --detailed-exitcode`'s "changes present"; a typo must never read as drift
    code, _, _ = _run(argv)
    assert code == 1


def test_usage_error_in_a_real_process_exits_1() -> None:
    done = subprocess.run([sys.executable, "-m", "seedctl.cli", "plan", "--bogus"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert "unrecognized arguments: --bogus" in done.stderr and "Traceback" not in done.stderr


def test_every_argument_has_help_and_every_command_a_description() -> None:
    parser = build_parser()
    missing = []
    for sub in [parser, *_subparsers(parser)]:
        if not sub.description:
            missing.append(f"{sub.prog}: no description")
        for action in sub._actions:  # noqa: SLF001
            if action.help is None:
                missing.append(f"{sub.prog} {'/'.join(action.option_strings) or action.dest}: no help")
    assert not missing, missing


def test_chdir_runs_as_if_started_there(tmp_path: Path) -> None:
    code, out, _ = _run(["init", "-C", str(tmp_path), "-f", "here.yaml"], cwd=ROOT)
    assert code == 0, out
    assert (tmp_path / "here.yaml").exists()
    code, _, err = _run(["-C", str(tmp_path / "missing"), "validate"])
    assert code == 1 and "--chdir" in err and "no such folder" in err


def test_parser_constants_match_the_spec_package() -> None:
    from seedctl.commands import common
    from seedctl.spec import DEFAULT_SPEC
    from seedctl.spec.model import CLOUDS, JOB_APIS

    assert (common.DEFAULT_SPEC, common.CLOUDS, common.JOB_APIS) == (DEFAULT_SPEC, CLOUDS, JOB_APIS)


def test_building_the_parser_imports_no_heavy_dependency() -> None:
    """--version and every completion TAB build the parser: the SDKs, rich, jsonschema and YAML
    must load only when a command runs (that is what keeps `seedctl --version` under 0.2 s)."""
    heavy = ("azure.core", "azure.identity", "msrest", "rich", "jsonschema", "yaml", "networkx", "cryptography")
    code = ("import sys; from seedctl.cli import build_parser; build_parser(); "
            f"print([m for m in {heavy!r} if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def test_version() -> None:
    from seedctl import __version__

    assert _run(["--version"])[:2] == (0, f"seedctl {__version__}\n")
    done = subprocess.run([sys.executable, "-m", "seedctl.cli", "--version"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout == f"seedctl {__version__}\n"


@pytest.mark.parametrize(("shell", "marker"), [("bash", "complete "), ("zsh", "compdef"), ("fish", "complete "),
                                               ("powershell", "Register-ArgumentCompleter")])
def test_completion_scripts(shell: str, marker: str) -> None:
    code, out, _ = _run(["completion", shell])
    assert code == 0 and marker in out and "seedctl" in out


def test_completion_answers_with_real_choices(tmp_path: Path) -> None:
    """What a shell does on TAB: run seedctl with argcomplete's variables and read the answer."""
    answer = tmp_path / "answer"
    line = "seedctl plan --local-state "
    env = {"PATH": "", "COMP_LINE": line, "COMP_POINT": str(len(line)), "_ARGCOMPLETE": "1",
           "_ARGCOMPLETE_STDOUT_FILENAME": str(answer), "_ARGCOMPLETE_IFS": "\n"}
    subprocess.run([sys.executable, "-m", "seedctl.cli"], env=env, capture_output=True, timeout=60)
    assert set(answer.read_text().split()) == {"auto", "skip", "require"}


def test_status_and_verify_take_output_table_json_yaml() -> None:
    parser = build_parser()
    for command in ("status", "verify"):
        for output in ("table", "json", "yaml"):
            assert parser.parse_args([command, "-o", output]).output == output
        assert parser.parse_args([command, "--json"]).json is True


def test_azurite_version_matches_package_json() -> None:
    from seedctl.commands.azurite_setup import AZURITE_VERSION

    assert json.loads((ROOT / "package.json").read_text())["dependencies"]["azurite"] == AZURITE_VERSION


@pytest.mark.parametrize(("platform", "environ", "expected"), [
    ("win32", {"LOCALAPPDATA": r"C:\Users\a\AppData\Local"}, Path(r"C:\Users\a\AppData\Local") / "seedctl"),
    ("darwin", {}, Path("/home/a/Library/Application Support/seedctl")),
    ("linux", {}, Path("/home/a/.local/state/seedctl")),
    ("linux", {"XDG_STATE_HOME": "/xdg/state"}, Path("/xdg/state/seedctl")),
    ("linux", {"XDG_STATE_HOME": "relative/ignored"}, Path("/home/a/.local/state/seedctl")),
])
def test_per_os_state_folder(platform: str, environ: dict[str, str], expected: Path) -> None:
    assert user_dir("state", environ, platform=platform, home=Path("/home/a")) == expected


def test_no_help_action_is_hidden_by_suppress() -> None:
    # the global options on subcommands default to SUPPRESS; they must still show in `plan --help`
    text = build_parser()._subparsers._group_actions[0].choices["plan"].format_help()  # noqa: SLF001
    assert "--verbose" in text and "--no-color" in text and "--chdir" in text
    assert isinstance(build_parser(), argparse.ArgumentParser)


@pytest.mark.sandbox
def test_status_output_json_and_yaml_carry_the_same_report(tmp_path: Path, sandbox) -> None:
    import yaml

    from worlds import make_world

    world = make_world(tmp_path, sandbox)
    as_json = world.cli("status", "-o", "json")
    as_yaml = world.cli("status", "--output", "yaml")
    table = world.cli("status")
    assert as_json.code == as_yaml.code == table.code
    data_json, data_yaml = json.loads(as_json.out), yaml.safe_load(as_yaml.out)
    for data in (data_json, data_yaml):
        data.pop("checked_at", None)
    assert data_json == data_yaml and data_json["version"] == 1
    assert not table.out.lstrip().startswith("{")


# -- issue 25: Terraform's and az's habits -------------------------------------------------------

@pytest.mark.parametrize(("argv", "out", "fmt"), [
    (["plan", "-out=plan.json"], "plan.json", None), (["plan", "-out", "p.json"], "p.json", None),
    (["plan", "--out", "p.json", "-o", "json"], "p.json", "json"), (["plan", "-ojson"], None, "json"),
    (["plan", "--output", "markdown"], None, "markdown"), (["plan", "-o", "table"], None, "table"),
])
def test_plan_takes_terraform_out_and_az_output(argv: list[str], out: str | None, fmt: str | None) -> None:
    from seedctl.commands.plan import output_format

    args = build_parser().parse_args(argv)
    assert (args.out, args.format) == (out, fmt)
    assert output_format(args) == {"json": "json", "markdown": "markdown"}.get(fmt or "", "text")


def test_show_takes_az_output() -> None:
    assert build_parser().parse_args(["show", "plan.json", "-o", "json"]).format == "json"


@pytest.mark.parametrize(("argv", "usage", "hint"), [
    (["pln"], "usage: seedctl [-h]", "Did you mean `plan`?"),
    (["plan", "--tagret", "x"], "usage: seedctl plan ", "Did you mean `--target` (for --tagret)?"),
    (["plan", "--detailed-exitcodes"], "usage: seedctl plan ", "Did you mean `--detailed-exitcode`"),
    (["sandbox", "drive", "--capcity", "3"], "usage: seedctl sandbox drive ", "Did you mean `--capacity`"),
    (["status", "-o", "jsn"], "usage: seedctl status ", "Did you mean `json`?"),
    (["sandbox", "stauts"], "usage: seedctl sandbox ", "Did you mean `status`?"),
])
def test_usage_errors_suggest_and_show_the_commands_own_usage(argv: list[str], usage: str, hint: str,
                                                              capsys) -> None:
    code, _, _ = _run(argv)
    err = capsys.readouterr().err  # argparse writes usage errors to the process's stderr
    assert code == 1
    assert err.startswith(usage), err
    assert hint in err, err


def test_no_suggestion_when_nothing_is_close(capsys) -> None:
    assert _run(["plan", "--zzzzzz"])[0] == 1
    assert "Did you mean" not in capsys.readouterr().err


def test_version_command() -> None:
    from seedctl import __version__

    assert _run(["version"])[:2] == (0, f"seedctl {__version__}\n")
    code, out, _ = _run(["version", "--json"])
    assert code == 0 and json.loads(out)["seedctl"] == __version__


def test_help_has_examples_and_points_to_installed_docs() -> None:
    text = build_parser().format_help()
    assert "examples:" in text and "seedctl plan -out=plan.json" in text
    assert "seedctl docs" in text and "docs/commands.md" not in text


def test_a_reader_that_stops_early_gets_no_traceback() -> None:
    # `seedctl docs commands | head -1`: the pipe closes while seedctl still writes
    proc = subprocess.Popen([sys.executable, "-m", "seedctl.cli", "docs", "commands"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.close()  # before seedctl has started writing: its first write finds no reader
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err
