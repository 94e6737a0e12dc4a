"""The install is what pyproject.toml says: every import declared, the lock in step with the ranges, and
the conda environment pinning the lock's versions."""
from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
DEPENDENCIES = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
DEV = [Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"]["dev"]]
LOCK = (ROOT / "requirements-lock.txt").read_text(encoding="utf-8")


def imported_modules(folder: Path) -> set[str]:
    """Top-level names of every module imported anywhere under `folder` (at the top of a file or inside a
    function alike), other than the standard library and kpitools itself."""
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    local = {"kpitools", "tests", "bench", *(p.stem for p in (ROOT / "bench").glob("*.py"))}
    return {n for n in names if n not in sys.stdlib_module_names and n not in local}


def distributions(modules: set[str]) -> dict[str, set[str]]:
    installed = packages_distributions()
    return {m: {canonicalize_name(d) for d in installed.get(m, [])} for m in modules}


def declared(requirements: list[Requirement]) -> set[str]:
    return {canonicalize_name(r.name) for r in requirements}


def locked() -> dict[str, list[str]]:
    """name -> the versions the lock pins for it (one per Python / platform marker)."""
    pins: dict[str, list[str]] = {}
    for name, version in re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", LOCK, re.M):
        pins.setdefault(canonicalize_name(name), []).append(version)
    return pins


def test_every_import_of_the_package_is_a_declared_dependency() -> None:
    undeclared = {m: d for m, d in distributions(imported_modules(ROOT / "kpitools")).items()
                  if not d & declared(DEPENDENCIES)}
    assert not undeclared, f"imported by kpitools but not in pyproject's dependencies: {undeclared}"


def test_every_import_of_the_tests_and_benchmarks_is_declared() -> None:
    modules = imported_modules(ROOT / "tests") | imported_modules(ROOT / "bench")
    known = declared(DEPENDENCIES) | declared(DEV)
    undeclared = {m: d for m, d in distributions(modules).items() if not d & known}
    assert not undeclared, f"imported by tests/ or bench/ but not declared: {undeclared}"


def test_the_lock_pins_every_dependency_inside_its_range() -> None:
    pins = locked()
    for requirement in DEPENDENCIES + DEV:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is in pyproject.toml but not in requirements-lock.txt: run `make lock`"
        for version in pins[name]:
            assert requirement.specifier.contains(version, prereleases=True), \
                f"the lock pins {name}=={version}, outside pyproject's {requirement}: run `make lock`"


def test_every_locked_package_has_hashes() -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9])", LOCK.strip())
    without = [b.split()[0] for b in blocks if re.match(r"[A-Za-z0-9]", b) and "--hash=sha256:" not in b]
    assert not without


def test_environment_yml_pins_the_locked_versions() -> None:
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    pinned = dict(re.findall(r"^\s+- \"?([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\"]+)", text, re.M))
    pins = locked()
    assert {canonicalize_name(n) for n in pinned} == set(pins)
    for name, version in pinned.items():
        assert version in pins[canonicalize_name(name)], name
