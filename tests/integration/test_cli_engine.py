"""`tidings send` and `tidings rerun`: events and re-runs from the command line, end to end."""

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner, Result

from tidings.cli import app

runner = CliRunner()

TEAM = """
openapi: 3.0.1
info:
  title: Payments Team
  x-cortex-tag: payments
  x-cortex-type: team
  x-cortex-team:
    members:
      - {name: Ada Lovelace, email: ada@example.com}
      - {name: Bob Okafor, email: bob@example.com}
"""
# Owned by the team and by a contractor who is not a user: chat messages to the contractor
# fail (no account), so its Slack and Teams runs complete with errors.
PAYMENTS_API = """
openapi: 3.0.1
info:
  title: Payments API
  x-cortex-tag: payments-api
  x-cortex-type: service
  x-cortex-owners:
    - {type: group, name: payments, provider: CORTEX}
    - {type: email, email: contractor@example.net}
  x-cortex-slack:
    channels:
      - {name: payments-alerts, notificationsEnabled: true}
"""
# Owned by the contractor alone: its chat runs fail, its email run completes.
LEDGER = """
openapi: 3.0.1
info:
  title: Ledger
  x-cortex-tag: ledger
  x-cortex-type: service
  x-cortex-owners:
    - {type: email, email: contractor@example.net}
"""
SCORECARDS = """
kind: tidings/v1
scorecards:
  - tag: production-readiness
    name: Production Readiness
"""
SCORES = ["--data", "score=72", "--data", "previousScore=80"]
EVALUATED = ["service_reevaluated", "--object", "entity:payments-api"]
EVALUATED += ["--object", "scorecard:production-readiness", *SCORES]
LEDGER_EVALUATED = ["SERVICE_REEVALUATED", "--object", "entity:ledger"]
LEDGER_EVALUATED += ["--object", "scorecard:production-readiness", *SCORES]


@pytest.fixture
def store(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A store holding a small catalog, chosen as an operator chooses it."""
    monkeypatch.setenv("TIDINGS_DATABASE_URL", database_url)
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    for name, content in [
        ("payments.yaml", TEAM),
        ("payments-api.yaml", PAYMENTS_API),
        ("ledger.yaml", LEDGER),
        ("scorecards.yaml", SCORECARDS),
    ]:
        (catalog / name).write_text(content.lstrip())
    imported = runner.invoke(app, ["import", str(catalog)])
    assert imported.exit_code == 0, imported.output
    return database_url


def _scalar(url: str, sql: str) -> object:
    engine = create_engine(url)
    with engine.connect() as connection:
        value = connection.execute(text(sql)).scalar_one()
    engine.dispose()
    return value


def _run_ids(url: str) -> list[int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        ids = connection.execute(text("SELECT id FROM notification_runs ORDER BY id")).scalars()
        found = [int(run_id) for run_id in ids]
    engine.dispose()
    return found


def _count(url: str, table: str) -> int:
    return int(str(_scalar(url, f"SELECT count(*) FROM {table}")))


def _send(*args: str) -> Result:
    return runner.invoke(app, ["send", *args])


def _lines(result: Result) -> list[list[str]]:
    """Each printed run line split into words: run, id, medium, status, delivered, count, ..."""
    return [line.split() for line in result.stdout.splitlines()]


def _runs_by_medium(result: Result) -> dict[str, dict[str, object]]:
    return {run["medium"]: run for run in json.loads(result.stdout)["runs"]}


class TestSend:
    def test_prints_one_line_per_medium_with_its_settled_status_and_delivered_count(
        self, store: str
    ) -> None:
        result = _send(*EVALUATED)

        assert result.exit_code == 0, result.output
        assert [line[2:6] for line in _lines(result)] == [
            ["SLACK", "COMPLETED_WITH_ERRORS", "delivered", "3"],
            ["MICROSOFT_TEAMS", "COMPLETED_WITH_ERRORS", "delivered", "2"],
            ["EMAIL", "COMPLETED", "delivered", "3"],
        ]
        assert "event 1 (SERVICE_REEVALUATED): 3 runs" in result.stderr

    def test_each_line_starts_with_the_run_id(self, store: str) -> None:
        result = _send(*EVALUATED)

        ids = [int(line[1]) for line in _lines(result)]
        assert ids == _run_ids(store)

    def test_a_failed_run_shows_its_reason_and_sentence(self, store: str) -> None:
        result = _send(
            "SERVICE_REEVALUATED",
            "--object",
            "entity:gone",
            "--object",
            "scorecard:production-readiness",
        )

        assert result.exit_code == 0, result.output
        for line in result.stdout.splitlines():
            assert "FAILED" in line
            assert "CONTEXT_RESOLUTION_ERROR: the entity gone does not exist" in line

    def test_json_prints_the_answer_with_each_run_as_settled(self, store: str) -> None:
        result = _send(*EVALUATED, "--json")

        assert result.exit_code == 0, result.output
        answer = json.loads(result.stdout)
        assert answer["notificationType"] == "SERVICE_REEVALUATED"
        assert answer["replayed"] is False
        assert answer["runs"][0] == {
            "id": answer["runs"][0]["id"],
            "medium": "SLACK",
            "status": "COMPLETED_WITH_ERRORS",
            "deliveredCount": 3,
            "seqNo": 0,
        }
        assert _runs_by_medium(result)["EMAIL"]["status"] == "COMPLETED"

    def test_no_wait_records_the_runs_created_and_sends_nothing(self, store: str) -> None:
        result = _send(*EVALUATED, "--no-wait", "--json")

        assert result.exit_code == 0, result.output
        statuses = {run["status"] for run in json.loads(result.stdout)["runs"]}
        assert statuses == {"CREATED"}
        assert _count(store, "notification_logs") == 0
        assert _count(store, "notification_outbox") == 0

    def test_data_pairs_are_json_when_they_parse_and_text_otherwise(self, store: str) -> None:
        result = _send(
            *EVALUATED,
            "--data-json",
            '{"score": 1, "rule": "Has an owner"}',
            "--data",
            "note=up again",
            "--data",
            "flaky=true",
            "--no-wait",
        )

        assert result.exit_code == 0, result.output
        payload = json.loads(str(_scalar(store, "SELECT payload FROM notification_events")))
        assert payload["data"] == {
            "score": 72,
            "previousScore": 80,
            "rule": "Has an owner",
            "note": "up again",
            "flaky": True,
        }

    def test_the_same_idempotency_key_creates_nothing_and_shows_the_first_runs(
        self, store: str
    ) -> None:
        first = _send(*EVALUATED, "--idempotency-key", "deploy-42", "--json")
        runs_after_first = _count(store, "notification_runs")

        again = _send(*EVALUATED, "--idempotency-key", "deploy-42", "--json")

        assert again.exit_code == 0, again.output
        assert _count(store, "notification_runs") == runs_after_first
        assert _count(store, "notification_events") == 1
        replay = json.loads(again.stdout)
        assert replay["replayed"] is True
        assert replay["eventId"] == json.loads(first.stdout)["eventId"]
        assert replay["runs"] == json.loads(first.stdout)["runs"]

    def test_a_replay_says_so_on_standard_error(self, store: str) -> None:
        _send(*EVALUATED, "--idempotency-key", "deploy-42")

        again = _send(*EVALUATED, "--idempotency-key", "deploy-42")

        assert again.exit_code == 0, again.output
        assert "nothing new was created" in again.stderr
        assert len(again.stdout.splitlines()) == 3

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["SERVICE_REVALUATED", "--object", "entity:payments-api"], "SERVICE_REEVALUATED?"),
            (["NOT_A_TYPE"], "unknown notification type 'NOT_A_TYPE'"),
            (["SERVICE_REEVALUATED", "--object", "payments-api"], "is not KIND:TAG"),
            (["SERVICE_REEVALUATED", "--object", "service:payments-api"], "is not KIND:TAG"),
            (["SERVICE_REEVALUATED", "--object", "entity:"], "is not KIND:TAG"),
            (["SERVICE_REEVALUATED", "--object", "entity:ledger", *SCORES], "type SCORECARD"),
            ([*EVALUATED, "--data", "score"], "'score' is not KEY=VALUE"),
            ([*EVALUATED, "--data-json", "{score: 1}"], "--data-json: not valid JSON"),
            ([*EVALUATED, "--data-json", "[1]"], "give a JSON object"),
            ([*EVALUATED, "--idempotency-key", ""], "idempotencyKey"),
            (["TEAM_MEMBER_INVITATION"], "give their emails"),
            (["TEAM_MEMBER_INVITATION", "--recipient", "ada at example"], "not an email"),
        ],
    )
    def test_a_malformed_or_refused_event_exits_2_and_records_nothing(
        self, store: str, args: list[str], message: str
    ) -> None:
        result = _send(*args)

        assert result.exit_code == 2, result.output
        assert message in result.stderr
        assert result.stdout == ""
        assert _count(store, "notification_events") == 0
        assert _count(store, "notification_runs") == 0


class TestRerun:
    def _run_id(self, send: Result, medium: str) -> int:
        return int(str(_runs_by_medium(send)[medium]["id"]))

    def test_rerun_of_a_run_completed_with_errors_sends_only_what_was_not_delivered(
        self, store: str
    ) -> None:
        slack = self._run_id(_send(*EVALUATED, "--json"), "SLACK")

        result = runner.invoke(app, ["rerun", str(slack)])

        assert result.exit_code == 0, result.output
        [line] = _lines(result)
        assert line[2:6] == ["SLACK", "FAILED", "delivered", "0"]
        new_run = int(line[1])
        assert f"run {new_run} re-runs run {slack}" in result.stderr
        duplicates = _scalar(
            store,
            f"SELECT count(*) FROM notification_logs WHERE run_id = {new_run} "
            "AND ignored_reason = 'DUPLICATE'",
        )
        assert duplicates == 3

    def test_rerun_of_a_failed_run_starts_the_next_run_of_its_chain(self, store: str) -> None:
        slack = self._run_id(_send(*LEDGER_EVALUATED, "--json"), "SLACK")
        assert _scalar(store, f"SELECT status FROM notification_runs WHERE id = {slack}") == (
            "FAILED"
        )

        first = runner.invoke(app, ["rerun", str(slack), "--json"])
        second = runner.invoke(app, ["rerun", str(slack), "--json"])

        assert first.exit_code == 0, first.output
        assert second.exit_code == 0, second.output
        chain = [json.loads(first.stdout), json.loads(second.stdout)]
        assert [(run["originalRunId"], run["seqNo"]) for run in chain] == [(slack, 1), (slack, 2)]
        assert [run["status"] for run in chain] == ["FAILED", "FAILED"]

    def test_rerun_no_wait_leaves_the_new_run_created(self, store: str) -> None:
        slack = self._run_id(_send(*LEDGER_EVALUATED, "--json"), "SLACK")

        result = runner.invoke(app, ["rerun", str(slack), "--no-wait", "--json"])

        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["status"] == "CREATED"

    def test_rerun_of_a_completed_run_is_refused(self, store: str) -> None:
        email = self._run_id(_send(*EVALUATED, "--json"), "EMAIL")
        runs_before = _count(store, "notification_runs")

        result = runner.invoke(app, ["rerun", str(email)])

        assert result.exit_code == 1
        assert f"run {email} is COMPLETED" in result.stderr
        assert "COMPLETED_WITH_ERRORS runs can be re-run" in result.stderr
        assert _count(store, "notification_runs") == runs_before

    def test_rerun_of_an_unknown_run_is_refused(self, store: str) -> None:
        result = runner.invoke(app, ["rerun", "999"])

        assert result.exit_code == 1
        assert "run 999 does not exist" in result.stderr
        assert _count(store, "notification_runs") == 0
