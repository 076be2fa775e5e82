"""Routes that FastAPI documents but does not dispatch."""

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import request_response


def dispatch_without_injection(router: APIRouter) -> None:
    """Call each endpoint of `router` with the bare request, as Starlette does.

    The endpoints must take the `Request` alone and return a `Response`. FastAPI still
    declares them in the OpenAPI document (parameters come from `openapi_extra`), but no
    longer solves dependencies or validates a response model for them: on the hot read
    endpoints, whose SQL can take 3 ms, that machinery was a visible share of each answer.
    """
    for route in router.routes:
        if isinstance(route, APIRoute):
            route.app = request_response(route.endpoint)
