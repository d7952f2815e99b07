"""Dependencies point one way: geo and scoring (and the file readers) load no DB/web stack."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

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


# --------------------------------------------------------------------------- checkins domains

# bottom to top (docs/architecture.md): a domain imports only itself and domains below it
DOMAINS = ("db", "formats", "audit", "township", "auth", "positions", "field", "cases", "outages",
           "evaluation", "jobs", "office", "scores", "me", "demo")
ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, lazy imports inside functions included."""
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module == "checkins":  # from checkins import township
                out += [(node.lineno, f"checkins.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, node.module))
    return out


def domain_violations(root: Path) -> list[str]:
    """``file:line imports module`` for each import of a higher domain or of checkins.tables."""
    rank = {d: i for i, d in enumerate(DOMAINS)}
    bad: list[str] = []
    for path in sorted((root / "checkins").glob("*/**/*.py")):
        own = path.relative_to(root / "checkins").parts[0]
        for line, mod in _imports(path):
            parts = mod.split(".")
            if parts[0] != "checkins" or len(parts) < 2:
                continue
            target = parts[1]
            if target == "tables" or (target in rank and rank[target] > rank.get(own, -1)):
                bad.append(f"{path.relative_to(root)}:{line} imports {mod}")
    return sorted(set(bad))


def test_every_checkins_folder_is_a_known_domain():
    found = {p.name for p in (ROOT / "checkins").iterdir()
             if p.is_dir() and (p / "__init__.py").exists()}
    assert found == set(DOMAINS)


# The one read across the order, by design: db/migrate loads every table for Alembic. The
# list may only shrink (retention's exemption keep and the outages' day marks were turned
# around in issue 14: the job passes the keep, evaluation marks the days).
KNOWN = {
    "checkins/db/migrate.py:30 imports checkins.tables",  # load_all_models (Alembic)
}


def test_domains_import_only_themselves_and_domains_below():
    found = domain_violations(ROOT)
    assert set(found) <= KNOWN, sorted(set(found) - KNOWN)


def test_the_domain_probe_would_notice_an_upward_or_tables_import(tmp_path):
    pkg = tmp_path / "checkins" / "township"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "ok.py").write_text("from checkins.db.base import naming\nfrom checkins import township\n")
    (pkg / "bad.py").write_text(
        "def f():\n    from checkins.evaluation.flows import township_profile\n"
        "    import checkins.tables\n    from checkins import scores\n")
    assert domain_violations(tmp_path) == [
        "checkins/township/bad.py:2 imports checkins.evaluation.flows",
        "checkins/township/bad.py:3 imports checkins.tables",
        "checkins/township/bad.py:4 imports checkins.scores",
    ]
