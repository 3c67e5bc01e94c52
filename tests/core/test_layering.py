"""DESIGN.md: dependencies point one way, figures -> simulations -> proofs_check -> theorem_lab;
theorem_lab/cli.py is the only composition root (it may import every layer)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["theorem_lab", "proofs_check", "simulations", "figures"]   # lower to higher


def _imports(path: Path) -> set:
    mods = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            mods |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            mods.add(node.module.split(".")[0])
    return mods


@pytest.mark.parametrize("layer", LAYERS)
def test_no_module_imports_a_higher_layer(layer):
    higher = set(LAYERS[LAYERS.index(layer) + 1:])
    for path in sorted((ROOT / layer).rglob("*.py")):
        if path == ROOT / "theorem_lab" / "cli.py":
            continue
        assert not (_imports(path) & higher), f"{path.relative_to(ROOT)} imports {_imports(path) & higher}"
