"""Fixtures shared by every test: a real store (SQLite file or PostgreSQL), the app, keys."""

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text

from tests.support.api import Api, serving, wipe
from tests.support.postgres import PostgresServer, PostgresUnavailableError, start_server
from tidings.app import create_app
from tidings.auth import service as keys
from tidings.auth.permissions import Permission
from tidings.kit.db import create_db_engine
from tidings.kit.migrate import upgrade
from tidings.runtime import Runtime
from tidings.settings import Settings

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
TEMPLATE_DATABASE = "tidings_template"
MEMORY = Path("/dev/shm")
# What a run keeps there at most: a PostgreSQL cluster per worker, its WAL included, and the
# stores of the tests running (a passing test's tmp_path goes when it ends).
MEMORY_NEEDED = 4 * 1024**3


def pytest_configure() -> None:
    """Keep the tests' scratch files in memory when the machine has room there, unless
    TMPDIR says where they go.

    Each test copies a store: a SQLite file, or a PostgreSQL database cloned from a
    template of several hundred files. On this machine's disk creating a file costs half a
    millisecond and a sync far more: a clone took 0.8 s there against 0.03 s in memory, and
    SQLite tests ran about twice as fast in memory.
    """
    if "TMPDIR" in os.environ or not os.access(MEMORY, os.W_OK):
        return
    if shutil.disk_usage(MEMORY).free >= MEMORY_NEEDED:
        # tmp_path, tmp_path_factory and start_server's cluster all make theirs here.
        tempfile.tempdir = str(MEMORY)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the whole session (required under CI)."""
    try:
        server = start_server()
    except PostgresUnavailableError as error:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {error}")
        pytest.skip(str(error))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite store that each test copies."""
    path = tmp_path_factory.mktemp("template") / "tidings.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> str:
    """A migrated PostgreSQL database that each test clones."""
    admin = create_engine(postgres_server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {TEMPLATE_DATABASE}"))
    admin.dispose()
    engine = create_db_engine(postgres_server.url(TEMPLATE_DATABASE))
    upgrade(engine)
    engine.dispose()
    return TEMPLATE_DATABASE


def _fresh_postgres(server: PostgresServer, template: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        # Copying the template's files beats WAL-logging each of its pages (PostgreSQL 15's
        # default): 30 ms a clone against 60 ms.
        version = connection.dialect.server_version_info or (0,)
        strategy = " STRATEGY FILE_COPY" if version >= (15,) else ""
        connection.execute(text(f"CREATE DATABASE {name} TEMPLATE {template}{strategy}"))
    try:
        yield server.url(name)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty store on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "tidings.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server = request.getfixturevalue("postgres_server")
    template = request.getfixturevalue("postgres_template")
    yield from _fresh_postgres(server, template)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, postgres_template: str) -> Iterator[str]:
    """A freshly migrated, empty PostgreSQL database (for what only PostgreSQL does)."""
    yield from _fresh_postgres(postgres_server, postgres_template)


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    """An engine on a freshly migrated, empty PostgreSQL database."""
    engine = create_db_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A freshly migrated store on each backend, shared by the tests of one module."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("module-store") / "tidings.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server = request.getfixturevalue("postgres_server")
    template = request.getfixturevalue("postgres_template")
    yield from _fresh_postgres(server, template)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings pointing at the test store."""
    return Settings(database_url=database_url, rate_limit_per_minute=100_000)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """The shared objects of a tidings process over the test store."""
    opened = Runtime.from_settings(settings)
    yield opened
    opened.close()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """An HTTP client for the app (in-process ASGI, real requests and responses)."""
    with TestClient(create_app(runtime)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def api(module_database_url: str) -> Iterator[Api]:
    """The app over a store shared by one module's tests, with a viewer's key."""
    with serving(module_database_url) as served:
        yield served


@pytest.fixture
def store(api: Api) -> Iterator[Engine]:
    """The shared store, emptied of runs, logs, objects and tallies after the test."""
    yield api.engine
    wipe(api.engine)


KeyFactory = Callable[..., str]


@pytest.fixture
def make_key(runtime: Runtime) -> KeyFactory:
    """Create an API key with the given permissions; returns its secret."""

    def create(
        *permissions: Permission, name: str = "test key", expires_at: datetime | None = None
    ) -> str:
        with runtime.sessions.begin() as session:
            created = keys.create_key(
                session, name, permissions, datetime.now(UTC), expires_at=expires_at
            )
        return created.secret

    return create


@pytest.fixture
def viewer_headers(make_key: KeyFactory) -> dict[str, str]:
    """Authorization headers of a key that may view notification logs."""
    return {"Authorization": f"Bearer {make_key(Permission.VIEW_NOTIFICATION_LOGS)}"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store on each backend that no migration has touched yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tidings.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    name = f"e_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield server.url(name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()
