"""Dependencies point one way: geo and scoring (and the file readers) load no DB/web stack."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

FORBIDDEN = ("sqlalchemy", "sqlmodel", "geoalchemy2", "alembic", "psycopg", "fastapi",
             "starlette", "uvicorn", "httpx")

_PROBE = """
import importlib, json, pkgutil, sys
roots = {roots!r}
for root in roots:
    mod = importlib.import_module(root)
    for info in pkgutil.walk_packages(getattr(mod, "__path__", []), root + "."):
        importlib.import_module(info.name)
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}})))
"""


def _loaded(*roots: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", _PROBE.format(roots=list(roots))],
                         capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("roots", [("geo",), ("scoring",), ("checkins.formats",)])
def test_pure_packages_load_no_database_or_web_modules(roots):
    loaded = _loaded(*roots)
    assert roots[0].split(".")[0] in loaded  # the probe really imported something
    assert not loaded & set(FORBIDDEN), f"{roots} pulled in {sorted(loaded & set(FORBIDDEN))}"


def test_the_probe_would_notice_a_database_import():
    assert "sqlalchemy" in _loaded("checkins.tables")
