"""kit.routing: routes FastAPI documents but Starlette answers."""

from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tidings.kit.routing import include_dispatched_bare

SOLVED: list[str] = []


def recorded_dependency() -> None:
    SOLVED.append("solved")


def app_with_bare_router() -> FastAPI:
    router = APIRouter()

    @router.get(
        "/things/{name}",
        operation_id="getThing",
        dependencies=[Depends(recorded_dependency)],
        openapi_extra={"parameters": [{"name": "size", "in": "query", "required": False}]},
    )
    async def get_thing(request: Request) -> Response:
        return PlainTextResponse(f"{request.path_params['name']} {request.query_params['size']}")

    app = FastAPI()
    include_dispatched_bare(app, router)
    return app


def test_the_endpoint_gets_the_bare_request_and_no_dependency_is_solved() -> None:
    SOLVED.clear()
    with TestClient(app_with_bare_router()) as client:
        answer = client.get("/things/lamp?size=3")
    assert answer.status_code == 200
    assert answer.text == "lamp 3"
    assert SOLVED == []


def test_the_operation_stays_in_the_openapi_document() -> None:
    document = app_with_bare_router().openapi()
    operation = document["paths"]["/things/{name}"]["get"]
    assert operation["operationId"] == "getThing"
    assert [p["name"] for p in operation["parameters"]] == ["size"]


def test_bare_routes_are_matched_before_fastapis_own() -> None:
    first = app_with_bare_router().router.routes[0]
    assert type(first) is Route
    assert first.path == "/things/{name}"


def test_another_method_on_the_path_is_still_refused() -> None:
    with TestClient(app_with_bare_router()) as client:
        answer = client.post("/things/lamp")
    assert answer.status_code == 405
