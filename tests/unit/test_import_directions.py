"""docs/DESIGN.md's package table, enforced: each top-level package imports only what it may."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = {
    "vocabulary",
    "rules",
    "classifier",
    "monitor",
    "desk",
    "oncall",
    "services",
    "web",
    "hark",
}
ALLOWED_PROJECT_IMPORTS = {
    "vocabulary": set(),
    "rules": {"vocabulary"},
    "classifier": {"vocabulary", "rules"},  # the learned second opinion the rules may ask
    "monitor": {"vocabulary", "rules"},
    "desk": {"vocabulary", "rules"},
    "oncall": {"vocabulary", "rules", "desk"},
    "services": {"vocabulary", "rules", "monitor", "desk", "oncall"},
    "web": {"vocabulary", "rules", "monitor", "desk", "oncall", "services"},
    "hark": PROJECT,
}
# Outside libraries a package may use; the standard library is always allowed.
ALLOWED_LIBRARIES = {
    "vocabulary": set(),
    "rules": {"pydantic", "yaml", "ahocorasick", "re2"},
}
# Only one module talks to each outside system.
SOLE_IMPORTERS = {
    "tweepy": "monitor/x_api.py",
    "pdpyras": "oncall/pagerduty.py",
    "smtplib": "monitor/smtp_sender.py",
}
# scikit-learn stays inside the classifier package: the rest of Hark sees a SecondOpinion.


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(PROJECT))
def test_package_imports_follow_the_design(package):
    assert _modules(package), f"{package}/ has no modules"
    for path in _modules(package):
        imported = _imports(path)
        forbidden = (imported & PROJECT) - ALLOWED_PROJECT_IMPORTS[package] - {package}
        assert not forbidden, f"{path.relative_to(ROOT)} imports {sorted(forbidden)}"
        if package in ALLOWED_LIBRARIES:
            outside = imported - PROJECT - set(sys.stdlib_module_names) - {"__future__"}
            extra = outside - ALLOWED_LIBRARIES[package]
            assert not extra, f"{path.relative_to(ROOT)} imports {sorted(extra)}"


@pytest.mark.parametrize(("library", "owner"), sorted(SOLE_IMPORTERS.items()))
def test_one_module_per_outside_system(library, owner):
    importers = {
        str(path.relative_to(ROOT))
        for package in PROJECT
        for path in _modules(package)
        if library in _imports(path)
    }
    assert importers <= {owner}, f"{library} imported outside {owner}: {sorted(importers)}"


def test_the_checker_sees_a_violation(tmp_path):
    """The walker is not vacuous: it finds a forbidden import in a module."""
    module = tmp_path / "bad.py"
    module.write_text("from oncall import jobs\nimport redis\n")
    assert _imports(module) == {"oncall", "redis"}


def test_scikit_learn_stays_in_the_classifier():
    importers = {
        str(path.relative_to(ROOT))
        for package in PROJECT - {"classifier"}
        for path in _modules(package)
        if "sklearn" in _imports(path)
    }
    assert not importers, f"sklearn imported outside classifier/: {sorted(importers)}"
