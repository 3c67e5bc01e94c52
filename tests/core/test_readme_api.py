"""The README's "Python API" block runs as written, and says what it claims (a user pastes it)."""

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[2] / "README.md"


def python_api_block() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_python_api_block_runs_and_gives_theorem_1_quantities():
    scope: dict = {}
    exec(compile(python_api_block(), str(README), "exec"), scope)
    traj, trajs, tl = scope["traj"], scope["trajs"], scope["tl"]
    assert traj.T1 is not None and traj.l2_clean[-1] < traj.l2_clean[0]   # Algorithm 1 converges
    assert len(trajs) == 32 and all(np.isfinite(t.l2_clean[-1]) for t in trajs)
    alone = tl.train(scope["datas"][3], scope["nets"][3], method="self-distill", steps=1000)
    np.testing.assert_allclose(trajs[3].l2_clean, alone.l2_clean, rtol=1e-10)   # = train alone
