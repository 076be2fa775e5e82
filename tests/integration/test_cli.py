"""The `tidings` command line: keys, migrations, generation, as an operator uses them."""

import json

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from tidings.cli import app
from tidings.kit.migrate import head_revision

runner = CliRunner()


@pytest.fixture
def store(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI's store, chosen the way an operator chooses it: TIDINGS_DATABASE_URL."""
    monkeypatch.setenv("TIDINGS_DATABASE_URL", database_url)
    return database_url


def _count(url: str, sql: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        value = connection.execute(text(sql)).scalar_one()
    engine.dispose()
    return int(value)


class TestKeys:
    def test_create_prints_the_secret_alone_on_the_last_line(self, store: str) -> None:
        result = runner.invoke(app, ["keys", "create", "--name", "ci reader"])

        assert result.exit_code == 0, result.output
        secret = result.stdout.strip().splitlines()[-1]
        assert secret.startswith("tdg_")
        assert len(secret) > 40

    def test_the_secret_is_never_stored_nor_listed(self, store: str) -> None:
        created = runner.invoke(app, ["keys", "create", "--name", "ci reader"])
        secret = created.stdout.strip().splitlines()[-1]

        listing = runner.invoke(app, ["keys", "list"])

        assert listing.exit_code == 0
        assert "ci reader" in listing.stdout
        assert secret not in listing.stdout
        assert secret[12:] not in listing.stdout
        stored = _count(store, f"SELECT count(*) FROM api_keys WHERE secret_hash = '{secret}'")
        assert stored == 0

    def test_permissions_can_be_given_in_any_case(self, store: str) -> None:
        result = runner.invoke(
            app, ["keys", "create", "--name", "viewer", "--permission", "view_notification_logs"]
        )

        assert result.exit_code == 0, result.output
        listed = json.loads(runner.invoke(app, ["keys", "list", "--json"]).stdout)
        assert listed["permissions"] == ["VIEW_NOTIFICATION_LOGS"]

    def test_unknown_permission_is_refused_and_creates_nothing(self, store: str) -> None:
        result = runner.invoke(app, ["keys", "create", "--name", "x", "--permission", "ROOT"])

        assert result.exit_code != 0
        assert _count(store, "SELECT count(*) FROM api_keys") == 0

    def test_blank_name_is_refused(self, store: str) -> None:
        result = runner.invoke(app, ["keys", "create", "--name", "  "])

        assert result.exit_code == 2
        assert "name" in result.stderr

    def test_expiry_in_the_past_is_refused(self, store: str) -> None:
        result = runner.invoke(app, ["keys", "create", "--name", "x", "--expires", "2001-01-01"])

        assert result.exit_code == 2
        assert "future" in result.stderr

    def test_revoke_marks_the_key_revoked(self, store: str) -> None:
        runner.invoke(app, ["keys", "create", "--name", "to revoke"])

        result = runner.invoke(app, ["keys", "revoke", "1"])

        assert result.exit_code == 0, result.output
        listed = json.loads(runner.invoke(app, ["keys", "list", "--json"]).stdout)
        assert listed["state"] == "revoked"
        assert listed["revokedAt"].endswith("Z")

    def test_revoking_an_unknown_key_is_an_error(self, store: str) -> None:
        result = runner.invoke(app, ["keys", "revoke", "999"])

        assert result.exit_code == 2
        assert "999" in result.stderr


class TestMigrate:
    def test_migrate_is_idempotent(self, store: str) -> None:
        first = runner.invoke(app, ["migrate"])
        second = runner.invoke(app, ["migrate"])

        assert first.exit_code == 0, first.output
        assert second.exit_code == 0, second.output
        assert f"revision {head_revision(create_engine(store))}" in second.stdout


class TestGenerate:
    def test_generate_writes_exactly_the_runs_asked_for(self, store: str) -> None:
        result = runner.invoke(app, ["generate", "--runs", "120", "--seed", "3", "--quiet"])

        assert result.exit_code == 0, result.output
        assert _count(store, "SELECT count(*) FROM notification_runs") == 120

    def test_generate_needs_exactly_one_size(self, store: str) -> None:
        both = runner.invoke(app, ["generate", "--runs", "5", "--logs", "5"])
        neither = runner.invoke(app, ["generate"])

        assert both.exit_code == 2
        assert neither.exit_code == 2
        assert _count(store, "SELECT count(*) FROM notification_runs") == 0
