"""The package graph keeps its shape: imports point downward, app and clock never import each
other, and nothing imports itself back, however indirectly."""

from __future__ import annotations

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
