"""Every command in docs/deployment.md works as written: the shell blocks run against a real
PostgreSQL (the placeholder URL swapped for the test's), the monitoring queries run on a
store with jobs in it, and each process of the table starts and does its job.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.support.cluster import Cluster, wait_healthy
from tests.support.postgres import find_bindir, free_port
from tidings.kit import partitions
from tidings.kit.db import create_db_engine

pytestmark = pytest.mark.postgres

DOC = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"
PLACEHOLDER_URL = "postgresql+psycopg://tidings:...@db.internal:5432/tidings"


def blocks(language: str) -> list[str]:
    """The fenced code blocks of one language in the document."""
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def shell_commands() -> list[str]:
    """Each line of the sh blocks, without comments and the `export` of the placeholder."""
    lines = [line.split("  #")[0].strip() for block in blocks("sh") for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith(("#", "export "))]


def process_commands() -> dict[str, str]:
    """The command of each role in the Processes table."""
    rows = re.findall(r"^\| (\w+) \| `(tidings [^`]*)` \|", DOC.read_text(), flags=re.MULTILINE)
    return dict(rows)


def as_run_here(command: str, url: str) -> str:
    """The documented command pointed at the test's server, on loopback only."""
    database = str(make_url(url).database)
    command = command.replace("tidings_restored", f"{database}_restored")
    command = command.replace(PLACEHOLDER_URL, url).replace("-d tidings", f"-d {database}")
    command = command.replace("0.0.0.0", "127.0.0.1")
    return re.sub(r"(^|\s)tidings ", rf"\1{sys.executable} -m tidings ", command)


def test_the_document_has_the_commands_this_test_runs() -> None:
    assert [command.split()[:2] for command in shell_commands()] == [
        [
            "TIDINGS_DATABASE_URL=postgresql+psycopg://tidings:...@db.internal:5432/tidings",
            "tidings",
        ],
        ["tidings", "keys"],
        ["pg_dump", "-Fc"],
        ["createdb", "-T"],
        ["pg_restore", "--exit-on-error"],
    ]
    assert set(process_commands()) == {"API", "worker", "both"}


def test_the_shell_commands_run_as_written(postgres_url: str, tmp_path: Path) -> None:
    url = make_url(postgres_url)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
    environment |= {
        "TIDINGS_DATABASE_URL": postgres_url,
        "PATH": f"{find_bindir()}:{environment['PATH']}",
        "PGHOST": str(url.host),
        "PGPORT": str(url.port),
        "PGUSER": str(url.username),
    }
    for command in shell_commands():
        done = subprocess.run(
            as_run_here(command, postgres_url),
            shell=True,
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    assert (tmp_path / "tidings.dump").stat().st_size > 0
    restored = url.set(database=f"{url.database}_restored")
    engine = create_db_engine(restored.render_as_string(hide_password=False))
    with engine.connect() as connection:
        keys = connection.execute(text("SELECT count(*) FROM api_keys")).scalar_one()
        days = partitions.partition_days(connection, "notification_logs")
    engine.dispose()
    admin = create_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE {restored.database} WITH (FORCE)"))
    admin.dispose()
    assert keys == 1
    assert days != []


def test_the_monitoring_queries_run(postgres_url: str) -> None:
    [block] = blocks("sql")
    queries = [query.strip() for query in block.split(";") if query.strip()]
    engine = create_db_engine(postgres_url)
    with engine.connect() as connection:
        for query in queries:
            connection.execute(text(query)).all()
    engine.dispose()
    assert len(queries) == 8


def test_each_process_of_the_table_starts(postgres_url: str, tmp_path: Path) -> None:
    cluster = Cluster(postgres_url, tmp_path, {})
    try:
        commands = process_commands()
        port = free_port()
        api = cluster.start(*as_run_here(commands["API"], postgres_url).split()[3:-1], str(port))
        wait_healthy(port, api)
        worker_command = commands["worker"].replace("[--concurrency N]", "--concurrency 2")
        cluster.start_worker(*worker_command.split()[2:])
        both_port = free_port()
        both = cluster.start(*commands["both"].split()[1:], "--port", str(both_port))
        wait_healthy(both_port, both)
        assert "this process and any `tidings worker`" in cluster.output(both)
    finally:
        cluster.stop()
