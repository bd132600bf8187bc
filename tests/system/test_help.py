"""Every command's --help ends with two examples that parse as that command's arguments, and its exit codes."""

from __future__ import annotations

import argparse
import shlex

import pytest

from teamslicensing.cli import main
from teamslicensing.cli.helptext import CODES, EXAMPLES
from teamslicensing.cli.parser import build_parser


def _commands() -> list[str]:
    actions = build_parser()._actions
    return sorted(next(a for a in actions if isinstance(a, argparse._SubParsersAction)).choices)


COMMANDS = _commands()


def test_every_command_has_its_examples_and_exit_codes() -> None:
    assert sorted(EXAMPLES) == COMMANDS
    assert sorted(CODES) == COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_the_help_ends_with_two_examples_that_parse_and_the_exit_codes(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    help_text = capsys.readouterr().out
    examples = help_text.split("examples:\n", 1)[1].split("\n\nexit codes:\n", 1)
    lines = [line.strip() for line in examples[0].splitlines()]
    assert len(lines) == 2
    for line in lines:
        argv = shlex.split(line.split(" | ")[0])  # a pipe's left side
        assert argv[:2] == ["teams-licensing", command]
        if "--help" not in argv:
            build_parser().parse_args(argv[1:])  # a usage error would exit 1
    codes = [int(line.split()[0]) for line in examples[1].splitlines() if line.strip()[:1].isdigit()]
    assert codes[0] == 0
    assert codes == list(CODES[command])
