"""A first end-to-end check that the store and the API work together on both backends."""

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.builders import RunSpec, store_runs
from tidings.runtime import Runtime


def test_stored_run_is_listed_with_its_logs(
    client: TestClient, runtime: Runtime, viewer_headers: dict[str, str]
) -> None:
    engine: Engine = runtime.engine
    [run_id] = store_runs(engine, [RunSpec(logs=[{}, {"recipient_user_id": 1002}])])

    runs = client.get("/api/v1/notifications/logs/run", headers=viewer_headers).json()
    logs = client.get(
        "/api/v1/notifications/logs", params={"notificationRunIds": run_id}, headers=viewer_headers
    ).json()

    assert [run["id"] for run in runs["runs"]] == [run_id]
    assert runs["runs"][0]["deliveredCount"] == 2
    assert logs["total"] == 2
    assert {log["runId"] for log in logs["logs"]} == {run_id}
