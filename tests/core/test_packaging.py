"""The wheel's layout (issue: a regular install): every package folder is installed, under the
theorem_lab namespace only, with the data files that the CLI reads."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"theorem_lab": "theorem_lab", "proofs_check": "theorem_lab.proofs_check",
           "simulations": "theorem_lab.simulations", "figures": "theorem_lab.figures"}


def _pyproject():
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_folder_is_listed_and_mapped():
    cfg = _pyproject()
    expected = set()
    for folder, name in FOLDERS.items():
        assert cfg["package-dir"][name] == folder
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            expected.add(".".join([name, *rel]))
    assert set(cfg["packages"]) == expected
    assert all(p.split(".")[0] == "theorem_lab" for p in cfg["packages"])


def test_packaged_findings_are_declared():
    data = _pyproject()["package-data"]["theorem_lab.proofs_check"]
    assert "findings/*.json" in data and "*.md" in data
    assert list((ROOT / "proofs_check" / "findings").glob("*.json"))


def test_python_dash_m_is_the_console_script(tmp_path):
    out = subprocess.run([sys.executable, "-m", "theorem_lab", "--help"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "sweep" in out.stdout and "check" in out.stdout


# Submodules that `import X` does not load: using X.Y works only if something else imported X.Y
# first (in an editable install, setuptools' finder imports importlib.util; a wheel has no finder).
LAZY_SUBMODULES = {"importlib.util", "importlib.resources", "importlib.metadata", "importlib.abc",
                   "importlib.machinery", "concurrent.futures", "logging.handlers",
                   "multiprocessing.pool", "xml.etree", "email.mime", "unittest.mock", "http.client",
                   "urllib.request", "urllib.parse", "urllib.error", "json.decoder"}


def lazy_submodule_accidents(source: str) -> set:
    """Uses of ``X.Y`` (a lazily loaded submodule) in a file that never imports ``X.Y`` itself."""
    tree = ast.parse(source)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                imported |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    used = {f"{n.value.id}.{n.attr}" for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}
    return (used & LAZY_SUBMODULES) - imported


def test_no_module_relies_on_an_import_accident():
    """The crash of every non-editable install: cli.py used importlib.util after `import importlib`."""
    assert lazy_submodule_accidents("import importlib\nimportlib.util.find_spec('x')\n") == {"importlib.util"}
    assert not lazy_submodule_accidents("import importlib.util\nimportlib.util.find_spec('x')\n")
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            bad = lazy_submodule_accidents(path.read_text())
            assert not bad, f"{path.relative_to(ROOT)} uses {bad} without importing it"
