"""Shared fixtures live in tests/support; this file only plugs them in."""

pytest_plugins = ["tests.support.database", "tests.support.bot"]
