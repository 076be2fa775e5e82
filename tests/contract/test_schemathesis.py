"""Schemathesis fuzzes a live tidings server, once with our own spec and once with Cortex's.

As decisions.md says ("Fuzzing against two specs"): with our own `/openapi.json`, which
declares the 400/401/403/429 answers and the bounds of page and pageSize, every check must
pass; with the reference spec, which declares neither, status-code conformance and
positive-data acceptance are left out, and there must be no server error and every 200 must
conform to the reference schemas.

The server is `tidings serve` in a subprocess on 127.0.0.1, over a SQLite store that
`tidings generate` filled; the fuzzer is the `schemathesis run` command line, with a fixed
seed so that a run is reproducible. This file is also the fuzzer's hooks file: it tells
schemathesis the product rules that no OpenAPI 3.0 document can state (see the end).
"""

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import requests
import schemathesis
from jsonschema import Draft4Validator
from schemathesis import GenerationMode

from tests.contract.test_openapi_contract import FORMATS, LOGS, REFERENCE_SPEC, RUNS
from tests.support.postgres import free_port

REPOSITORY = Path(__file__).resolve().parents[2]
HISTORY_END = "2026-11-20T09:30:00Z"
FUZZ_SEED = 20261120
MAX_EXAMPLES = 100
STARTUP_SECONDS = 30.0


@dataclass(frozen=True)
class LiveServer:
    """A running tidings server and the headers of a key that may view notification logs."""

    url: str
    headers: dict[str, str]


def run_tidings(*args: str, env: dict[str, str], cwd: Path) -> str:
    """Run the `tidings` command line; its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "tidings", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def wait_until_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Return once `/healthz` answers 200; fail if the server dies or never gets there."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        try:
            server.wait(timeout=0.1)  # a pause that also notices an early exit
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"tidings serve exited with {server.returncode}:\n{log.read_text()}")
    pytest.fail(f"tidings serve did not answer /healthz in {STARTUP_SECONDS}s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`tidings serve` over a generated SQLite store, with a viewer key."""
    root = tmp_path_factory.mktemp("live")
    env = {
        **os.environ,
        "TIDINGS_DATABASE_URL": f"sqlite:///{root / 'tidings.db'}",
        # The fuzzer sends thousands of requests a minute, some without a key.
        "TIDINGS_RATE_LIMIT_PER_MINUTE": "1000000",
    }
    run_tidings(
        "generate", "--runs", "300", "--seed", "5", "--now", HISTORY_END, "--quiet",
        env=env, cwd=root,
    )  # fmt: skip
    secret = run_tidings(
        "keys", "create", "--name", "schemathesis", "--permission", "VIEW_NOTIFICATION_LOGS",
        env=env, cwd=root,
    ).splitlines()[-1]  # fmt: skip
    port = free_port()
    log = root / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            # The history ends in the past: no retention purge may delete it under the fuzzer.
            [
                sys.executable,
                "-m",
                "tidings",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-schedules",
            ],
            env=env,
            cwd=root,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, server, log)
        yield LiveServer(url, {"Authorization": f"Bearer {secret}"})
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@dataclass(frozen=True)
class FuzzRun:
    """What `schemathesis run` printed, and whether it found anything."""

    returncode: int
    output: str

    @property
    def operations_tested(self) -> int:
        """How many operations the run tested."""
        found = re.search(r"Tested:\s+(\d+)", self.output)
        return int(found.group(1)) if found else 0


def fuzz(location: str, server: LiveServer, checks: list[str], workdir: Path) -> FuzzRun:
    """Run schemathesis against `server`, driven by the spec at `location`."""
    command = [
        sys.executable, "-m", "schemathesis.cli", "--no-color", "run", location,
        "--url", server.url,
        "--header", f"Authorization: {server.headers['Authorization']}",
        *checks,
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(FUZZ_SEED),
        "--generation-database", "none",
        "--suppress-health-check", "all",
        "--request-timeout", "10",
    ]  # fmt: skip
    env = {**os.environ, "SCHEMATHESIS_HOOKS": __file__, "PYTHONPATH": str(REPOSITORY)}
    done = subprocess.run(
        command, env=env, cwd=workdir, capture_output=True, text=True, timeout=300, check=False
    )
    return FuzzRun(done.returncode, done.stdout + done.stderr)


def reference_on(server: LiveServer, workdir: Path) -> Path:
    """The reference spec, pointed at `server`.

    Its searchQuery parameter has no schema, which OpenAPI 3.0 requires and schemathesis
    needs to generate values; it gets the string schema the parameter carries.
    """
    document = json.loads(REFERENCE_SPEC.read_text())
    document["servers"] = [{"url": server.url}]
    for parameter in document["paths"][RUNS]["get"]["parameters"]:
        if parameter["name"] == "searchQuery":
            parameter.setdefault("schema", {"type": "string"})
    path = workdir / "reference.openapi.json"
    path.write_text(json.dumps(document))
    return path


def test_fuzzing_with_our_own_spec_and_every_check_finds_nothing(
    live_server: LiveServer, tmp_path: Path
) -> None:
    run = fuzz(f"{live_server.url}/openapi.json", live_server, ["--checks", "all"], tmp_path)

    # The two Cortex operations and tidings' own six (events, preview, re-run, the log and
    # run details, a log's attempts).
    assert run.operations_tested == 8, run.output
    assert run.returncode == 0, run.output


def test_fuzzing_with_the_reference_spec_finds_no_server_error_and_only_conforming_bodies(
    live_server: LiveServer, tmp_path: Path
) -> None:
    checks = [
        "--checks", "all",
        "--exclude-checks", "status_code_conformance,positive_data_acceptance",
    ]  # fmt: skip

    run = fuzz(str(reference_on(live_server, tmp_path)), live_server, checks, tmp_path)

    assert run.operations_tested == 2, run.output
    assert run.returncode == 0, run.output


# What the fuzzer found, pinned as plain requests -----------------------------------------


def declared_valid(spec: dict[str, Any], path: str, params: dict[str, str]) -> bool:
    """Whether `spec` declares each (string-typed) query value of `params` valid."""
    declared = {p["name"]: p["schema"] for p in spec["paths"][path]["get"]["parameters"]}
    for name, value in params.items():
        schema = declared[name]
        sent: Any = [value] if schema.get("type") == "array" else value
        if not Draft4Validator(schema, format_checker=FORMATS).is_valid(sent):
            return False
    return True


@pytest.mark.parametrize(
    ("path", "params"),
    [
        pytest.param(LOGS, {"recipientEmails": "a\x1bb"}, id="ESC"),
        pytest.param(LOGS, {"recipientChannels": "a\x7fb"}, id="DEL"),
        pytest.param(RUNS, {"searchQuery": "\x11\xb4)"}, id="DC1"),
        pytest.param(
            LOGS,
            {"fromDate": "0001-01-01T00:00:00+01:00"},
            id="fromDate before year 1 in UTC",
        ),
        pytest.param(
            RUNS,
            {"untilDate": "9999-12-31T23:59:59-01:00"},
            id="untilDate after year 9999 in UTC",
        ),
        pytest.param(LOGS, {"recipientEmails": "ada@example.com"}, id="an ordinary email"),
        pytest.param(RUNS, {"fromDate": "2026-11-01T00:00:00+01:00"}, id="an ordinary date"),
    ],
)
def test_a_request_our_spec_declares_valid_is_not_rejected(
    live_server: LiveServer, path: str, params: dict[str, str]
) -> None:
    spec = httpx.get(f"{live_server.url}/openapi.json").json()

    response = httpx.get(f"{live_server.url}{path}", params=params, headers=live_server.headers)

    assert not declared_valid(spec, path, params) or response.status_code == 200, response.text


# The fuzzer's hooks ------------------------------------------------------------------------
#
# decisions.md and docs/api.md fix rules that an OpenAPI 3.0 document cannot state, so the
# fuzzer would count them as failures:
# - fromDate after untilDate is a 400, though each date alone is valid;
# - blanks are dropped and values trimmed, array values split on commas, and enum values are
#   case-insensitive, so "statuses=" or "statuses=failed" is a valid request that a
#   schema-driven fuzzer takes for an invalid one.
# The hooks keep such cases out: a positive case never has its dates out of order, and a
# negative case never relies on a spelling the product reads leniently.


def wire_query(case: schemathesis.Case[Any]) -> list[tuple[str, str]]:
    """The query string `case` sends, as the server reads it (schemathesis sends with
    requests)."""
    params = case.as_transport_kwargs(base_url="http://127.0.0.1")["params"]
    url = str(requests.Request("GET", "http://127.0.0.1/", params=params).prepare().url)
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def read_leniently(schema: dict[str, Any], raw: str) -> bool:
    """Whether the product reads `raw` as something other than its literal self."""
    if not raw.strip() or raw != raw.strip():
        return True
    if schema.get("type") == "array" and "," in raw:
        return True
    allowed: list[str] = (schema.get("items") or schema).get("enum") or []
    return raw not in allowed and raw.upper() in allowed


def dates_out_of_order(query: dict[str, str]) -> bool:
    """Whether fromDate lies after untilDate (both given and both readable)."""
    try:
        start, end = (datetime.fromisoformat(query[name]) for name in ("fromDate", "untilDate"))
        return start.replace(tzinfo=start.tzinfo or UTC) > end.replace(tzinfo=end.tzinfo or UTC)
    except (KeyError, ValueError, OverflowError):
        return False


def decided_alike_by_spec_and_product(
    _context: schemathesis.HookContext, case: schemathesis.Case[Any]
) -> bool:
    """Keep the cases on which the spec and the product's documented rules agree."""
    query = wire_query(case)
    if case.meta is not None and case.meta.generation.mode is GenerationMode.NEGATIVE:
        declared = {
            p["name"]: p.get("schema", {})
            for p in case.operation.definition.raw.get("parameters", [])
        }
        return not any(read_leniently(declared.get(name, {}), raw) for name, raw in query)
    return not dates_out_of_order(dict(query))


if os.environ.get("SCHEMATHESIS_HOOKS") == __file__:
    # schemathesis is loading this file as its hooks file, in its own process.
    schemathesis.hook("filter_case")(decided_alike_by_spec_and_product)
