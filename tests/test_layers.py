"""The package graph keeps its shape: imports point downward, app and clock never import each other."""

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
    assert "Contracts: 3 kept, 0 broken." in result.stdout, result.stdout


def test_app_and_clock_are_peers() -> None:
    """The rule the layers contract exists for, said directly: a broken contract file cannot hide it."""
    import grimp

    graph = grimp.build_graph("slackbot", cache_dir=None)
    assert not graph.chain_exists(importer="slackbot.app", imported="slackbot.clock", as_packages=True)
    assert not graph.chain_exists(importer="slackbot.clock", imported="slackbot.app", as_packages=True)
    assert not graph.find_modules_that_directly_import("slackbot.config") & graph.find_children(
        "slackbot.core"
    )
