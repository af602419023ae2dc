"""Dependencies point inward (CONVENTIONS.md 1), walked with `ast` so no new import slips by."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = ("contracts", "services", "gateway")


def imports(path: Path) -> set[str]:
    """Top-level names of every module `path` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def offenders(paths: list[Path], forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    bad = {
        p.name if not p.is_relative_to(ROOT) else str(p.relative_to(ROOT)): sorted(
            m for m in imports(p) if any(m == f or m.startswith(f + ".") for f in forbidden)
        )
        for p in paths
    }
    return {p: mods for p, mods in bad.items() if mods}


def test_contracts_import_nothing_of_ours_beyond_contracts():
    assert offenders(sources("contracts"), ("services", "gateway")) == {}


def test_services_never_import_the_gateway_or_fastapi():
    assert offenders(sources("services"), ("gateway", "fastapi", "starlette", "uvicorn")) == {}


@pytest.mark.parametrize("flow", ["disputes", "mediation", "registry", "reports"])
def test_state_machines_and_rules_import_no_io(flow):
    model = ROOT / "services" / flow / "model.py"
    if not model.exists():
        pytest.fail(f"services/{flow}/model.py is missing: every flow keeps its rules there")
    io = ("fastapi", "nats", "sqlalchemy", "gateway", "services.store", "services.bus.transport")
    assert offenders([model], io) == {}


def test_the_walker_sees_a_forbidden_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import fastapi\nfrom sqlalchemy import select\nfrom . import local\n")
    assert offenders([sample], ("fastapi", "sqlalchemy")) != {}
