"""Shared fixtures live in tests/support; this file only plugs them in."""

from pathlib import Path

pytest_plugins = ["tests.support.database", "tests.support.bot"]

SHARED = Path(__file__).resolve().parents[2] / "shared"
