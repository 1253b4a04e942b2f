"""Every package the code imports is declared, and CI's lowest versions are pyproject's."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

from packaging.version import Version  # (pytest's own dependency)

from conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = None


def _declared() -> dict[str, str]:
    """Distribution name (normalised) -> its specifier, from pyproject.toml."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    if tomllib is not None:
        deps = tomllib.loads(text)["project"]["dependencies"]
    else:  # pragma: no cover
        deps = re.findall(r'^\s*[\'"]([^\'"]+)[\'"],', text.split("dependencies = [", 1)[1].split("]", 1)[0], re.M)
    found = {}
    for dep in deps:
        name = re.match(r"[A-Za-z0-9_.-]+", dep)[0]
        found[_norm(name)] = dep[len(name):].split(";")[0].strip()
    return found


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_imported_package_is_declared():
    imported: set[str] = set()
    for path in sorted((REPO / "factsite").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {name for name in imported if name not in sys.stdlib_module_names and name != "factsite"}
    owners = importlib.metadata.packages_distributions()
    declared = _declared()
    missing = sorted(f"{name} ({', '.join(owners.get(name, ['?']))})" for name in third_party
                     if not any(_norm(dist) in declared for dist in owners.get(name, [name])))
    assert missing == [], "imported but not in pyproject's dependencies"


def test_ci_tests_the_lowest_versions_pyproject_allows():
    declared = _declared()
    pins = {}
    for line in (REPO / ".ci" / "lowest.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[_norm(name)] = version.strip()
    for name, version in pins.items():
        assert name in declared, f"{name} is pinned for CI but not a dependency"
        lowest = re.search(r">=\s*([0-9][^,\s]*)", declared[name])
        assert lowest is not None and Version(lowest[1]) == Version(version), \
            f"{name}: CI tests {version}, pyproject allows from {lowest[1] if lowest else '?'}"
    for name in ("jinja2", "markupsafe"):  # the libraries whose private parts render.py uses
        assert name in pins and "<" in declared[name], f"{name} needs a tested range"


def test_without_the_jinja_internals_the_pages_are_the_same(tmp_path: Path, monkeypatch):
    """Should a Jinja release lack what render.py's subclasses lean on, Jinja's own classes
    draw the site, byte for byte as they do."""
    from conftest import stage
    from factsite import render

    site = stage("sites", "minimal", tmp_path / "site")
    assert render.JINJA_INTERNALS  # (the versions pyproject allows have them)
    site.build(tmp_path / "fast", use_cache=False)
    monkeypatch.setattr(render, "JINJA_INTERNALS", False)
    site.build(tmp_path / "plain", use_cache=False)

    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    assert files(tmp_path / "fast") == files(tmp_path / "plain")
