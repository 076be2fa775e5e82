"""Routes that FastAPI documents but Starlette dispatches."""

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Route


def include_dispatched_bare(app: FastAPI, router: APIRouter) -> None:
    """Include `router` for its OpenAPI operations, and answer its routes as Starlette does.

    The endpoints must take the `Request` alone and return a `Response`. FastAPI still
    declares them in the OpenAPI document (parameters come from `openapi_extra`), but a
    plain Starlette route placed ahead of FastAPI's answers each request: no dependency
    solving, response-model handling or included-router matching. On the hot read endpoints,
    whose SQL can take 2 ms, that machinery was a visible share of each answer.
    """
    app.include_router(router)
    bare = [
        Route(route.path, route.endpoint, methods=sorted(route.methods or ()), name=route.name)
        for route in router.routes
        if isinstance(route, APIRoute)
    ]
    app.router.routes[0:0] = bare
