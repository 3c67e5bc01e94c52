"""The composition root: every command has --help; an unknown command or none is bad input."""

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
