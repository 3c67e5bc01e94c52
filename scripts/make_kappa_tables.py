"""Write theorem_lab/kappa_tables.json: the fitted κ(c) tables of covariance.py (tanh, softplus).

Run after changing GH_NODES, CHEB_POINTS or CHEB_DEGREE: ``python scripts/make_kappa_tables.py``.
tests/kernels checks the stored tables against a fresh fit.
"""
import json
from pathlib import Path

from theorem_lab import covariance

tables = {name: covariance.fit_kappa_table(name).tolist() for name in ("tanh", "softplus")}
path = Path(covariance.__file__).with_name(covariance.KAPPA_TABLES)
path.write_text(json.dumps({"key": covariance.kappa_table_key(), "tables": tables}, indent=1) + "\n")
print(f"wrote {path}")
