"""Our published contract, held to Cortex's reference spec.

The document we serve at `/openapi.json` must declare the reference's operations, parameters
and schemas (adding only the bounds and error responses the reference leaves out), every
body we answer with must validate against the reference's schemas, and the interactive docs
must work without reaching another host.
"""

import copy
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft4Validator, FormatChecker
from openapi_spec_validator import OpenAPIV30SpecValidator, validate
from referencing import Registry
from referencing.jsonschema import DRAFT4
from sqlalchemy import delete

from tidings.app import create_app
from tidings.auth import service as keys
from tidings.auth.permissions import Permission
from tidings.generator.history import HistorySpec, write_history
from tidings.kit.db import create_db_engine
from tidings.kit.query import PRINTABLE_PATTERN
from tidings.kit.ratelimit import RateLimitBucket
from tidings.runtime import Runtime
from tidings.settings import Settings

REFERENCE_SPEC = Path(
    os.environ.get(
        "TIDINGS_REFERENCE_SPEC", "/work/shared/reference/cortex-notification-logs.openapi.json"
    )
)
LOGS = "/api/v1/notifications/logs"
RUNS = "/api/v1/notifications/logs/run"
OPERATIONS = {LOGS: "listNotificationLogs", RUNS: "listNotificationRuns"}
COMPONENTS = [
    "NotificationLog",
    "NotificationRun",
    "NotificationObject",
    "NotificationLogResponse",
    "NotificationRunResponse",
    "ErrorResponse",
    "TooManyRequestsProblemDetail",
]
# The facets of a parameter or property that must equal the reference's.
FACETS = ("type", "format", "enum", "default")
REFERENCE_URI = "urn:cortex:notification-logs"
INT32 = range(-(2**31), 2**31)
INT64 = range(-(2**63), 2**63)
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
END = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)

JsonObject = dict[str, Any]


# The two documents ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference() -> JsonObject:
    """Cortex's reference spec of the two operations."""
    document: JsonObject = json.loads(REFERENCE_SPEC.read_text())
    return document


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app over an empty store: enough for its OpenAPI document and its docs page."""
    path = tmp_path_factory.mktemp("spec") / "tidings.db"
    runtime = Runtime.from_settings(Settings(database_url=f"sqlite:///{path}"))
    try:
        with TestClient(create_app(runtime)) as client:
            yield client
    finally:
        runtime.close()


@pytest.fixture(scope="module")
def served(app_client: TestClient) -> JsonObject:
    """The OpenAPI document the app serves."""
    response = app_client.get("/openapi.json")
    assert response.status_code == 200
    document: JsonObject = response.json()
    return document


def resolve(document: JsonObject, node: JsonObject) -> JsonObject:
    """`node`, or what its local `$ref` points at."""
    while "$ref" in node:
        target: JsonObject = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def facets(schema: JsonObject | None) -> JsonObject | None:
    """What the wire contract says of a value: type, format, enum, default, item facets, and
    the component an object `$ref` names."""
    if schema is None:
        return None
    described = {key: schema[key] for key in FACETS if key in schema}
    if "$ref" in schema:
        described["$ref"] = schema["$ref"].rsplit("/", 1)[-1]
    if "items" in schema:
        described["items"] = facets(schema["items"])
    return described


def parameters(document: JsonObject, path: str) -> dict[str, JsonObject]:
    """The parameters of the GET at `path`, by name."""
    return {p["name"]: p for p in document["paths"][path]["get"]["parameters"]}


def responses(document: JsonObject, path: str) -> dict[str, JsonObject]:
    """The responses of the GET at `path`, by status, with `$ref`s resolved."""
    declared = document["paths"][path]["get"]["responses"]
    return {status: resolve(document, response) for status, response in declared.items()}


def body_schema(response: JsonObject, media_type: str) -> str:
    """The component a response's body refers to."""
    schema_ref: str = response["content"][media_type]["schema"]["$ref"]
    return schema_ref.rsplit("/", 1)[-1]


# The served document -------------------------------------------------------------------------


class TestServedDocument:
    def test_is_a_valid_openapi_3_0_document(self, served: JsonObject) -> None:
        validate(served, cls=OpenAPIV30SpecValidator)

        assert served["openapi"].startswith("3.0.")

    def test_declares_the_reference_operations_at_the_same_paths(
        self, served: JsonObject, reference: JsonObject
    ) -> None:
        def operations(document: JsonObject) -> set[tuple[str, str, str]]:
            return {
                (path, method, operation["operationId"])
                for path, item in document["paths"].items()
                for method, operation in item.items()
            }

        # tidings has endpoints of its own (events, re-runs, details) beside the reference's.
        at_reference_paths = {op for op in operations(served) if op[0] in reference["paths"]}
        assert at_reference_paths == operations(reference)
        assert at_reference_paths == {(path, "get", oid) for path, oid in OPERATIONS.items()}

    def test_authenticates_with_a_bearer_token_like_the_reference(
        self, served: JsonObject, reference: JsonObject
    ) -> None:
        ours = served["components"]["securitySchemes"]["bearerAuth"]
        theirs = reference["components"]["securitySchemes"]["bearerAuth"]

        assert served["security"] == reference["security"] == [{"bearerAuth": []}]
        assert (ours["type"], ours["scheme"]) == (theirs["type"], theirs["scheme"])


@pytest.mark.parametrize("path", list(OPERATIONS))
class TestParameters:
    def test_names_locations_and_requiredness_equal_the_reference(
        self, served: JsonObject, reference: JsonObject, path: str
    ) -> None:
        def placed(document: JsonObject) -> list[tuple[str, str, bool]]:
            return [
                (p["name"], p["in"], p.get("required", False))
                for p in document["paths"][path]["get"]["parameters"]
            ]

        assert placed(served) == placed(reference)

    def test_types_formats_enums_and_defaults_equal_the_reference(
        self, served: JsonObject, reference: JsonObject, path: str
    ) -> None:
        ours, theirs = parameters(served, path), parameters(reference, path)

        for name, declared in theirs.items():
            if "schema" in declared:
                assert facets(ours[name]["schema"]) == facets(declared["schema"]), name

    def test_page_and_page_size_alone_declare_bounds_which_the_reference_only_describes(
        self, served: JsonObject, reference: JsonObject, path: str
    ) -> None:
        ours = parameters(served, path)
        bounded = {
            name
            for name, declared in ours.items()
            if {"minimum", "maximum"} & set(declared.get("schema", {}))
        }

        page_size, page = ours["pageSize"]["schema"], ours["page"]["schema"]

        assert (page_size["minimum"], page_size["maximum"]) == (1, 1000)
        assert (page["minimum"], page.get("maximum", INT32.stop - 1)) == (0, INT32.stop - 1)
        assert bounded == {"page", "pageSize"}
        assert not any(
            {"minimum", "maximum"} & set(declared.get("schema", {}))
            for declared in parameters(reference, path).values()
        )


def test_search_query_is_a_string_where_the_reference_omits_its_schema(
    served: JsonObject, reference: JsonObject
) -> None:
    theirs = parameters(reference, RUNS)["searchQuery"]

    # A parameter without a schema is not valid OpenAPI 3.0; a string is what it carries.
    assert "schema" not in theirs
    assert parameters(served, RUNS)["searchQuery"]["schema"] == {
        "type": "string",
        "pattern": PRINTABLE_PATTERN,
    }


@pytest.mark.parametrize("path", list(OPERATIONS))
class TestResponses:
    def test_success_and_the_reference_errors_have_the_reference_bodies(
        self, served: JsonObject, reference: JsonObject, path: str
    ) -> None:
        ours, theirs = responses(served, path), responses(reference, path)

        assert body_schema(ours["200"], "application/json") == body_schema(
            theirs["200"], "application/json"
        )
        assert body_schema(ours["403"], "application/json") == "ErrorResponse"
        assert body_schema(theirs["403"], "application/json") == "ErrorResponse"
        assert body_schema(ours["429"], "application/problem+json") == body_schema(
            theirs["429"], "application/problem+json"
        )

    def test_declares_400_and_401_as_error_responses_which_the_reference_omits(
        self, served: JsonObject, reference: JsonObject, path: str
    ) -> None:
        ours, theirs = responses(served, path), responses(reference, path)

        assert set(theirs) == {"200", "403", "429"}
        assert set(ours) == {"200", "400", "401", "403", "429"}
        assert body_schema(ours["400"], "application/json") == "ErrorResponse"
        assert body_schema(ours["401"], "application/json") == "ErrorResponse"
        assert "WWW-Authenticate" in ours["401"]["headers"]

    def test_too_many_requests_carries_retry_after_in_seconds(
        self, served: JsonObject, reference: JsonObject, path: str
    ) -> None:
        ours = responses(served, path)["429"]["headers"]["Retry-After"]["schema"]
        theirs = responses(reference, path)["429"]["headers"]["Retry-After"]["schema"]

        assert facets(ours) == facets(theirs)
        assert ours["minimum"] == theirs["minimum"] == 0


KNOWN_SCHEMA_BUGS: dict[str, pytest.MarkDecorator] = {}


@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=KNOWN_SCHEMA_BUGS.get(name, ())) for name in COMPONENTS]
)
def test_component_schema_has_the_reference_properties_and_required_list(
    served: JsonObject, reference: JsonObject, name: str
) -> None:
    ours = served["components"]["schemas"][name]
    theirs = reference["components"]["schemas"][name]

    assert ours["type"] == theirs["type"] == "object"
    assert set(ours["properties"]) == set(theirs["properties"])
    for prop, declared in theirs["properties"].items():
        assert facets(ours["properties"][prop]) == facets(declared), f"{name}.{prop}"
    assert sorted(ours.get("required", [])) == sorted(theirs.get("required", []))


# The bodies we answer with -------------------------------------------------------------------


def _is_int32(value: object) -> bool:
    return not isinstance(value, int) or value in INT32


def _is_int64(value: object) -> bool:
    return not isinstance(value, int) or value in INT64


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


FORMATS = FormatChecker()
FORMATS.checks("int32")(_is_int32)
FORMATS.checks("int64")(_is_int64)
FORMATS.checks("date-time")(_is_date_time)


def closed(document: JsonObject) -> JsonObject:
    """A copy of `document` whose object schemas allow no property they do not declare."""
    copied = copy.deepcopy(document)

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node:
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(copied["components"])
    return copied


def reference_validator(document: JsonObject, component: str) -> Draft4Validator:
    """A validator of `component` in `document` (OpenAPI 3.0 schemas are JSON Schema draft 4
    plus a few keywords that do not constrain values), formats and `$ref`s included."""
    registry: Registry[Any] = Registry().with_resource(
        REFERENCE_URI, DRAFT4.create_resource(document)
    )
    schema = {"$ref": f"{REFERENCE_URI}#/components/schemas/{component}"}
    return Draft4Validator(schema, registry=registry, format_checker=FORMATS)


def violations(validator: Draft4Validator, body: Any) -> list[str]:
    """Every way `body` fails `validator`, located."""
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(body)
    ]


@dataclass
class Answered:
    """An app over a generated store, the headers of each kind of caller, and the bodies of
    many 200 answers."""

    client: TestClient
    callers: dict[str, dict[str, str]]
    bodies: dict[str, list[JsonObject]]
    database_url: str


# Queries across the dataset: every filter, both orders, small and past-the-end pages.
QUERIES: dict[str, list[dict[str, str]]] = {
    LOGS: [
        {"statuses": "FAILED", "orderBy": "ASC"},
        {"statuses": "IGNORED,READY"},
        {"recipientTypes": "ENTITY,TEAM", "mediums": "SLACK,MICROSOFT_TEAMS"},
        {"ignoredReasons": "DUPLICATE,UNSUPPORTED,CHANNEL_DISABLED"},
        {"failedReasons": "CLIENT_ERROR,CHANNEL_NOT_FOUND,NO_SEATS_LEFT"},
        {"fromDate": "2026-11-01T00:00:00Z", "untilDate": "2026-11-02T12:00:00+01:00"},
        {"pageSize": "7", "page": "3"},
        {"pageSize": "1000", "page": "99"},
        {"notificationRunIds": "1,2,3", "recipientEntityIds": "9001"},
    ],
    RUNS: [
        {"deliveredOnly": "false", "statuses": "FAILED,IGNORED", "includeObjects": "true"},
        {"failedReasons": "CONTEXT_RESOLUTION_ERROR", "deliveredOnly": "false"},
        {"ignoredReasons": "NO_RECIPIENTS,SCORECARD_DISABLED", "deliveredOnly": "false"},
        {"searchQuery": "payments", "includeObjects": "true"},
        {"orderBy": "ASC", "pageSize": "5", "page": "2"},
        {"pageSize": "1000", "page": "99", "deliveredOnly": "false"},
        {"fromDate": "2026-11-10", "untilDate": "2026-11-12T23:59:59.999Z"},
    ],
}


def every_page(client: TestClient, path: str, params: dict[str, str], headers: Any) -> list[Any]:
    """All pages of a query, at 1000 a page."""
    bodies = []
    page = 0
    while True:
        query = {**params, "pageSize": "1000", "page": str(page)}
        response = client.get(path, params=query, headers=headers)
        assert response.status_code == 200, response.text
        bodies.append(response.json())
        page += 1
        if page >= bodies[-1]["totalPages"]:
            return bodies


@pytest.fixture(scope="module")
def answered(module_database_url: str) -> Iterator[Answered]:
    """A generated month of history on each backend, and what the API answers about it."""
    engine = create_db_engine(module_database_url)
    write_history(engine, HistorySpec(runs=600, logs=None, seed=8, end=END))
    engine.dispose()
    runtime = Runtime.from_settings(
        Settings(database_url=module_database_url, rate_limit_per_minute=1_000_000)
    )
    with runtime.sessions.begin() as session:
        viewer, powerless = (
            keys.create_key(session, name, permissions, datetime.now(UTC)).secret
            for name, permissions in (("viewer", [Permission.VIEW_NOTIFICATION_LOGS]), ("none", []))
        )
    callers = {
        "viewer": {"Authorization": f"Bearer {viewer}"},
        "key without the permission": {"Authorization": f"Bearer {powerless}"},
        "unknown key": {"Authorization": "Bearer tdg_unknown"},
        "no key": {},
    }
    headers = callers["viewer"]
    try:
        with TestClient(create_app(runtime)) as client:
            bodies: dict[str, list[JsonObject]] = {
                LOGS: every_page(client, LOGS, {}, headers),
                RUNS: every_page(
                    client, RUNS, {"deliveredOnly": "false", "includeObjects": "true"}, headers
                ),
            }
            for path, queries in QUERIES.items():
                for params in queries:
                    response = client.get(path, params=params, headers=headers)
                    assert response.status_code == 200, (params, response.text)
                    bodies[path].append(response.json())
            yield Answered(client, callers, bodies, module_database_url)
    finally:
        runtime.close()


RESPONSES = [(LOGS, "NotificationLogResponse"), (RUNS, "NotificationRunResponse")]


def failures(validator: Draft4Validator, bodies: list[JsonObject]) -> dict[int, list[str]]:
    """The violations of each body that has any, by its position."""
    return {
        index: found for index, body in enumerate(bodies) if (found := violations(validator, body))
    }


@pytest.mark.parametrize(("path", "component"), RESPONSES)
class TestSuccessBodies:
    def test_every_body_validates_against_the_reference_schema(
        self, answered: Answered, reference: JsonObject, path: str, component: str
    ) -> None:
        validator = reference_validator(reference, component)

        assert failures(validator, answered.bodies[path]) == {}

    def test_no_body_carries_a_property_the_reference_does_not_declare(
        self, answered: Answered, reference: JsonObject, path: str, component: str
    ) -> None:
        validator = reference_validator(closed(reference), component)

        assert failures(validator, answered.bodies[path]) == {}

    def test_the_bodies_use_every_property_the_reference_declares(
        self, answered: Answered, reference: JsonObject, path: str, component: str
    ) -> None:
        """Otherwise the validations above would prove less than they seem to."""
        schemas = reference["components"]["schemas"]
        key = "logs" if path == LOGS else "runs"
        item_schema = resolve(reference, schemas[component]["properties"][key]["items"])
        items = [entry for body in answered.bodies[path] for entry in body[key]]
        objects = [o for entry in items for o in entry.get("notificationObjects", [])]

        assert {name for entry in items for name in entry} == set(item_schema["properties"])
        if path == RUNS:
            declared = schemas["NotificationObject"]["properties"]
            assert {name for o in objects for name in o} == set(declared)


class TestErrorBodies:
    @pytest.mark.parametrize(
        ("caller", "params", "status"),
        [
            pytest.param("viewer", {"pageSize": "0"}, 400, id="bad parameter"),
            pytest.param("viewer", {"statuses": "LOST"}, 400, id="unknown enum value"),
            pytest.param("no key", {}, 401, id="no key"),
            pytest.param("unknown key", {}, 401, id="unknown key"),
            pytest.param("key without the permission", {}, 403, id="no permission"),
        ],
    )
    @pytest.mark.parametrize("path", list(OPERATIONS))
    def test_error_bodies_validate_against_the_reference_error_response(
        self,
        answered: Answered,
        reference: JsonObject,
        path: str,
        caller: str,
        params: dict[str, str],
        status: int,
    ) -> None:
        response = answered.client.get(path, params=params, headers=answered.callers[caller])

        assert response.status_code == status
        assert response.headers["content-type"].startswith("application/json")
        validator = reference_validator(reference, "ErrorResponse")
        assert violations(validator, response.json()) == []

    @pytest.mark.parametrize("path", list(OPERATIONS))
    def test_too_many_requests_validates_against_the_reference_problem_detail(
        self, answered: Answered, reference: JsonObject, path: str
    ) -> None:
        runtime = Runtime.from_settings(
            Settings(database_url=answered.database_url, rate_limit_per_minute=1)
        )
        with runtime.engine.begin() as connection:  # on PostgreSQL budgets live in the store
            connection.execute(delete(RateLimitBucket))
        try:
            with TestClient(create_app(runtime)) as client:
                first = client.get(path, headers=answered.callers["viewer"])
                second = client.get(path, headers=answered.callers["viewer"])
        finally:
            runtime.close()

        assert (first.status_code, second.status_code) == (200, 429)
        assert second.headers["content-type"].startswith("application/problem+json")
        assert int(second.headers["retry-after"]) >= 0
        validator = reference_validator(reference, "TooManyRequestsProblemDetail")
        assert violations(validator, second.json()) == []


# The interactive docs ------------------------------------------------------------------------


class _References(HTMLParser):
    """The `src` and `href` attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [value for name, value in attrs if name in ("src", "href") and value]


def referenced_assets(html: str) -> list[str]:
    """The addresses a page loads: its src/href attributes and the spec URL in its script."""
    parser = _References()
    parser.feed(html)
    return parser.found + re.findall(r"url:\s*'([^']+)'", html)


class TestDocsPage:
    def test_names_no_other_host(self, app_client: TestClient) -> None:
        html = app_client.get("/docs").text

        assert re.findall(r"(?:https?:)?//[\w.-]+", html) == []

    def test_serves_every_asset_it_references_itself(self, app_client: TestClient) -> None:
        response = app_client.get("/docs")
        assets = referenced_assets(response.text)

        assert response.status_code == 200
        assert any(asset.endswith(".js") for asset in assets)
        assert any(asset.endswith(".css") for asset in assets)
        assert "/openapi.json" in assets
        for asset in assets:
            assert asset.startswith("/"), asset
            fetched = app_client.get(asset)
            assert fetched.status_code == 200, asset
            assert fetched.content, asset
