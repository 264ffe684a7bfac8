"""The package graph keeps its shape: imports point downward, app and clock never import each
other, and nothing imports itself back, however indirectly. And the tests' own: test modules
are leaves, what they share lives in tests/support."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    """import-linter checks the contracts in pyproject.toml against the real import graph."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout, result.stdout


def test_app_and_clock_are_peers() -> None:
    """The rule the layers contract exists for, said directly: a broken contract file cannot hide it."""
    import grimp

    graph = grimp.build_graph("slackbot", cache_dir=None)
    assert not graph.chain_exists(importer="slackbot.app", imported="slackbot.clock", as_packages=True)
    assert not graph.chain_exists(importer="slackbot.clock", imported="slackbot.app", as_packages=True)
    assert not graph.find_modules_that_directly_import("slackbot.config") & graph.find_children(
        "slackbot.core"
    )


def test_no_module_imports_itself_back() -> None:
    """No circle between any two modules of the bot, however long (import-linter's own
    contract sees circles between the children of one package, this one the rest)."""
    import grimp

    graph = grimp.build_graph("slackbot", cache_dir=None)
    bot = {module for module in graph.modules if not module.startswith("slackbot.fakeslack")}
    circles = [
        (module, found)
        for module in sorted(bot)
        for found in graph.find_modules_directly_imported_by(module) & bot
        if graph.chain_exists(importer=found, imported=module)
    ]
    assert circles == []


def test_no_package_runs_its_own_modules_on_import() -> None:
    """A package's `__init__` imports nothing of the bot: a module of the package that imports a
    sibling would otherwise run the `__init__` that imports it back (as `app` once did)."""
    import grimp

    graph = grimp.build_graph("slackbot", cache_dir=None)
    packages = [
        module
        for module in graph.modules
        if graph.find_children(module) and not module.startswith("slackbot.fakeslack")
    ]
    assert packages, "the graph has the bot's packages"
    importing = {
        package: sorted(graph.find_modules_directly_imported_by(package))
        for package in packages
        if graph.find_modules_directly_imported_by(package)
    }
    assert importing == {}


def is_test_module(name: str) -> bool:
    """`tests.test_prompt`, `tests.fakeslack.test_views`: a module pytest collects tests from."""
    return name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_")


def modules_imported_by(path: Path) -> set[str]:
    """Every module the file names in an import, anywhere in it (inside functions too), relative
    imports resolved, and `from package import module` counted as the module."""
    package = path.relative_to(ROOT).parent.parts  # what `from .` means, in a package's __init__ too
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_no_test_module_imports_another() -> None:
    """What two test modules share (a person's story, the OAuth install, running `slackbot` as a
    process) lives in tests/support. A test module imported by another ties the two together:
    a change to one file's tests breaks the other's, and a test or fixture imported by name is
    collected a second time where it lands."""
    files = sorted((ROOT / "tests").rglob("*.py"))
    assert any(is_test_module(".".join(f.relative_to(ROOT).with_suffix("").parts)) for f in files)
    found = {
        str(path.relative_to(ROOT)): sorted(
            name for name in modules_imported_by(path) if is_test_module(name)
        )
        for path in files
    }
    assert {path: names for path, names in found.items() if names} == {}
