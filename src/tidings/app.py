"""The ASGI application: routes, error handling, OpenAPI and docs."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tidings import __version__
from tidings.auth.dependencies import AuthenticationCache
from tidings.engine import endpoints as engine_endpoints
from tidings.engine.schemas import EventAnswer, EventIn, PreviewAnswer, RunCreated
from tidings.kit.errors import install_error_handlers
from tidings.kit.openapi import install_docs, install_openapi
from tidings.kit.request_id import RequestIdMiddleware
from tidings.kit.routing import include_dispatched_bare
from tidings.kit.schemas import ErrorResponse, TooManyRequestsProblemDetail
from tidings.kit.wire import json_response
from tidings.logs import endpoints as logs_endpoints
from tidings.logs.schemas import NotificationLogResponse, NotificationRunResponse
from tidings.runtime import Runtime
from tidings.web import routes as web_routes

DESCRIPTION = (
    "tidings serves notification runs and per-recipient logs through an API wire-compatible "
    "with Cortex's Notification Logs API. Authenticate with `Authorization: Bearer <key>`."
)


def create_app(runtime: Runtime) -> FastAPI:
    """Build the application around an already opened runtime."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The embedded runner works while the app serves (the scheduler is started by
        # `tidings serve` itself, so an app built for a test never fires or purges by time).
        if runtime.runner is not None:
            runtime.runner.start()
        yield
        if runtime.runner is not None:
            runtime.runner.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="tidings",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.runtime = runtime
    app.state.auth_cache = AuthenticationCache()
    app.add_middleware(RequestIdMiddleware)
    install_error_handlers(app)
    include_dispatched_bare(app, logs_endpoints.router)
    app.include_router(engine_endpoints.router)
    install_openapi(
        app,
        [
            NotificationLogResponse,
            NotificationRunResponse,
            ErrorResponse,
            TooManyRequestsProblemDetail,
            EventIn,
            EventAnswer,
            PreviewAnswer,
            RunCreated,
        ],
        DESCRIPTION,
    )
    install_docs(app)
    # The admin page (HTML, outside the OpenAPI document): docs/web.md.
    web_routes.install(app)

    async def health(_request: Request) -> Response:
        return json_response({"status": "ok", "version": __version__})

    async def home(_request: Request) -> Response:
        return RedirectResponse("/docs")

    app.add_route("/healthz", health, include_in_schema=False)
    app.add_route("/", home, include_in_schema=False)
    return app
