"""The composition root: every command has --help; an unknown command or none is bad input."""

import re

import pytest

from theorem_lab.cli import COMMANDS, main


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert f"theorem-lab {command}" in capsys.readouterr().out


def test_unknown_or_missing_command_is_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bogus"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "The 'COMMAND' parameter of theorem-lab must be one of 'sweep'" in err and "'bogus'" in err
    assert "Traceback" not in err and err.count("\n") == 1
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_version_is_the_package_version(capsys):
    import theorem_lab
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"theorem-lab {theorem_lab.__version__}\n"



@pytest.mark.parametrize("command", ["check", "sweep", "constants", "air"])
def test_help_names_each_option_default_once(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    options = [" ".join(block.split()) for block in re.split(r"\n  (?=-)", text)[1:]]
    assert options and all(opt.count("(default") <= 1 for opt in options), options
    assert not any("(default False)" in o or "(default None)" in o for o in options)
    if command == "check":
        assert any("configurations per lemma (default 20)" in o for o in options)   # was missing
