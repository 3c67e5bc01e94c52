"""scripts/gpu_check.sh, checked on the CPU. A GPU is lent rarely and for one short call: a wrong
flag, a Python syntax error or a step that cannot end would cost that call whole."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from theorem_lab.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu_check.sh"
TEXT = SCRIPT.read_text()
SHELL_VALUES = {'"${DATA[@]}"': "--dataset synthetic", '"$dtype"': "float32",
                '"${TABLE1_WORKERS:-1}"': "1", '"$CIFAR10_DIR"': "/data"}   # as the script sets them


def _theorem_lab_commands() -> list:
    """The argument words of every `$PY -m theorem_lab ...` line, continuations joined."""
    out = []
    for line in TEXT.replace("\\\n", " ").splitlines():
        m = re.search(r"\$PY -m theorem_lab (.*)", line)
        if m is None:
            continue
        cmd = re.split(r" (?:[0-9]?>|\|)", m.group(1))[0]          # the command, not its plumbing
        for name, value in SHELL_VALUES.items():
            cmd = cmd.replace(name, value)
        out.append(shlex.split(re.sub(r'"\$T/[^"]*"', "/tmp/out", cmd)))
    return out


def test_every_theorem_lab_command_in_the_script_parses():
    commands = _theorem_lab_commands()
    assert len(commands) >= 8                        # sweeps, bench, cifar train / ntk-air / table1
    for words in commands:
        assert not [w for w in words if "$" in w], words          # every variable known here
        build_parser(words[0]).parse_args(words)    # an unknown flag: SystemExit(2)


def test_the_scripts_python_compiles():
    blocks = re.findall(r"<<'PY'\n(.*?)\nPY\n", TEXT, re.S)
    assert blocks
    for code in blocks:
        compile(code, "gpu_check.sh heredoc", "exec")


@pytest.mark.skipif(sys.platform != "linux", reason="bash, timeout and tee as on the device")
def test_every_engine_step_is_bounded_by_the_budget_and_logged_to_out(tmp_path):
    """With the budget spent after the set-up, every step says it was skipped: none can outrun
    the device call; what is printed is in $OUT/gpu_check.log (the device tool brings $OUT back)."""
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(tmp_path / "out"),
           "TMPDIR": str(tmp_path), "BUDGET_S": "5"}
    done = subprocess.run(["bash", str(SCRIPT), "engine"], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=120)
    log = (tmp_path / "out" / "gpu_check.log").read_text()
    engine = TEXT[TEXT.index('if [ "$WHAT" = engine ]'):TEXT.index("engine checks done")]
    steps = re.findall(r'^\s*step "([^"]+)"', engine, re.M)
    steps = [s.replace("$dtype", d) for s in steps for d in (("float32", "float64")
                                                               if "$dtype" in s else ("",))]
    assert len(steps) >= 7
    joined = re.sub(r"<<'PY'\n.*?\nPY\n", "\n", engine, flags=re.S).replace("\\\n", " ")
    for line in joined.splitlines():                 # no command outside a bounded step
        assert "$PY" not in line or line.strip().startswith("step "), line
    for name in steps:
        assert f"== {name}: skipped, the budget of 5 s is spent" in log, name
    assert done.returncode == 1 and "engine checks done" in done.stdout
