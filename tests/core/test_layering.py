"""DESIGN.md: dependencies point one way, figures -> simulations -> proofs_check -> theorem_lab;
theorem_lab/cli.py is the only composition root (it may import every layer).

The layers are the repository's folders, installed as ``theorem_lab`` (the core) and
``theorem_lab.proofs_check``, ``theorem_lab.simulations``, ``theorem_lab.figures``."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["theorem_lab", "proofs_check", "simulations", "figures"]   # lower to higher


def layer_of(module: str) -> "str | None":
    """The layer an absolute module name belongs to (None: not ours)."""
    parts = module.split(".")
    if parts[0] != "theorem_lab":
        return "legacy:" + parts[0] if parts[0] in LAYERS else None
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS[1:] else "theorem_lab"


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if node.level == 0:
        return node.module or ""
    base = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imported_layers(path: Path, package: str) -> set:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mod = _absolute(node, package)
            names = [mod] + [f"{mod}.{a.name}" for a in node.names]   # `from theorem_lab import figures`
        out |= {layer_of(n) for n in names} - {None}
    return out


def _package(path: Path, layer: str) -> str:
    rel = path.relative_to(ROOT / layer).parent.parts
    return ".".join((["theorem_lab"] if layer == "theorem_lab" else ["theorem_lab", layer]) + list(rel))


@pytest.mark.parametrize("layer", LAYERS)
def test_no_module_imports_a_higher_layer(layer):
    higher = set(LAYERS[LAYERS.index(layer) + 1:])
    for path in sorted((ROOT / layer).rglob("*.py")):
        if path == ROOT / "theorem_lab" / "cli.py":
            continue
        found = imported_layers(path, _package(path, layer))
        assert not (found & higher), f"{path.relative_to(ROOT)} imports {found & higher}"
        legacy = {f for f in found if f.startswith("legacy:")}
        assert not legacy, f"{path.relative_to(ROOT)} imports the uninstalled name {legacy}"


def test_the_layer_test_sees_imports(tmp_path):
    """The checker itself: an upward import, absolute or relative, is caught."""
    f = tmp_path / "m.py"
    f.write_text("from ..figures import style\nimport theorem_lab.simulations.store\n")
    assert imported_layers(f, "theorem_lab.proofs_check") == {"figures", "simulations"}
    f.write_text("from theorem_lab import figures\nfrom .kernels import gram\n")
    assert imported_layers(f, "theorem_lab") == {"figures", "theorem_lab"}


def test_tests_use_the_installed_names():
    """In the checkout `import simulations` happens to work (the repository root is on sys.path);
    after an install only `theorem_lab.simulations` exists, so tests must use that name."""
    for path in sorted((ROOT / "tests").rglob("*.py")):
        legacy = {f for f in imported_layers(path, "tests") if f.startswith("legacy:")}
        assert not legacy, f"{path.relative_to(ROOT)} imports the uninstalled name {legacy}"
