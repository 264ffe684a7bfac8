"""Database fixtures: a migrated, empty database per test, on SQLite and on PostgreSQL.

Every test that asks for `database` runs twice, once per engine. PostgreSQL comes
from TEST_DATABASE_URL (a role that may CREATE DATABASE) or from a throwaway server
started here; where neither can be had the PostgreSQL cases are skipped loudly,
except under CI, where that is a failure.
"""

from __future__ import annotations

import itertools
import os
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from slackbot.config import normalize_database_url
from slackbot.store.db import Database
from slackbot.store.migrate import upgrade
from tests.support.pgserver import PostgresServer, PostgresUnavailable

_names = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield normalize_database_url(configured)
        return
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as error:
        reason = f"PostgreSQL tests cannot run here: {error}. Set TEST_DATABASE_URL or install PostgreSQL."
        if os.environ.get("CI"):
            pytest.fail(reason)
        warnings.warn(reason, stacklevel=1)
        pytest.skip(reason)
    try:
        yield server.admin_url
    finally:
        server.stop()


def _admin_execute(admin_url: str, *statements: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_url: str) -> Iterator[str]:
    """A migrated database that each test's database is copied from (CREATE DATABASE … TEMPLATE)."""
    name = f"loops_template_{os.getpid()}"
    _admin_execute(postgres_admin_url, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")
    url = make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    upgrade(database)
    database.dispose()
    try:
        yield name
    finally:
        _admin_execute(postgres_admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "loops.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    database.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, empty database for one test."""
    if request.param == "sqlite":
        path = tmp_path / "db" / "loops.db"
        path.parent.mkdir()
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    admin_url: str = request.getfixturevalue("postgres_admin_url")
    template: str = request.getfixturevalue("postgres_template")
    name = f"loops_test_{os.getpid()}_{next(_names)}"
    _admin_execute(admin_url, f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin_execute(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    try:
        yield database
    finally:
        database.dispose()
