"""The service's own OpenAPI document and its offline docs page.

The document is OpenAPI 3.0, like Cortex's reference, so the same generators and the
bundled Swagger UI read it. Schemas come from the pydantic wire models, cleaned to the
reference's style: enums inline, no `null` variants (absent fields are omitted), no titles.
"""

from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import HTMLResponse

OPENAPI_VERSION = "3.0.3"
REF_PREFIX = "#/components/schemas/"
DOCS_ASSETS = "/docs-assets"


def schema_ref(name: str) -> dict[str, str]:
    """A reference to a component schema."""
    return {"$ref": f"{REF_PREFIX}{name}"}


def json_response_of(schema: str, description: str) -> dict[str, Any]:
    """A JSON response whose body is the component `schema`."""
    return {
        "description": description,
        "content": {"application/json": {"schema": schema_ref(schema)}},
    }


def responses_of(
    success: dict[str, Any], status: int = 200, **more: dict[str, Any]
) -> dict[int | str, dict[str, Any]]:
    """The responses of an API operation: `success` under `status`, every error it can
    answer, and any further responses given by status code (`_404=...`)."""
    extra: dict[int | str, dict[str, Any]] = {
        int(code.lstrip("_")): response for code, response in more.items()
    }
    return {status: success, **error_responses(), **extra}


def error_responses() -> dict[int | str, dict[str, Any]]:
    """The error responses every API operation declares."""
    return {
        400: json_response_of("ErrorResponse", "A parameter is invalid; details names it"),
        401: json_response_of("ErrorResponse", "No API key, or an unknown, revoked or expired one")
        | {"headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}},
        403: json_response_of("ErrorResponse", "The API key lacks the permission"),
        429: {
            "description": "Too many requests; retry after the given number of seconds",
            "headers": {
                "Retry-After": {
                    "description": "Seconds until the rate limit resets.",
                    "schema": {"type": "integer", "format": "int32", "minimum": 0},
                }
            },
            "content": {
                "application/problem+json": {"schema": schema_ref("TooManyRequestsProblemDetail")}
            },
        },
    }


def _without_null(variants: list[Any]) -> list[Any]:
    return [variant for variant in variants if variant != {"type": "null"}]


def _clean(node: Any, enums: dict[str, Any]) -> Any:
    """Rewrite a pydantic schema node into the reference's OpenAPI 3.0 style."""
    if isinstance(node, list):
        return [_clean(item, enums) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: value for key, value in node.items() if key != "title"}
    if "anyOf" in node:
        variants = _without_null(node["anyOf"])
        if len(variants) == 1:
            node = {key: value for key, value in node.items() if key != "anyOf"} | variants[0]
    if node.get("default", ...) is None:
        del node["default"]
    if "examples" in node:
        node["example"] = node.pop("examples")[0]
    ref = node.get("$ref", "")
    if ref.startswith(REF_PREFIX) and ref[len(REF_PREFIX) :] in enums:
        inline = {key: value for key, value in node.items() if key != "$ref"}
        node = inline | enums[ref[len(REF_PREFIX) :]]
    cleaned = {key: _clean(value, enums) for key, value in node.items() if key != "properties"}
    if "properties" in node:
        # Property names are data, not schema keywords: a property may be called "title".
        cleaned["properties"] = {
            name: _clean(schema, enums) for name, schema in node["properties"].items()
        }
    return cleaned


def component_schemas(models: list[type[BaseModel]]) -> dict[str, Any]:
    """Component schemas of `models` and the models they contain, with enums inlined."""
    _, document = models_json_schema(
        [(model, "serialization") for model in models], ref_template=REF_PREFIX + "{model}"
    )
    definitions: dict[str, Any] = document.get("$defs", {})
    enums = {
        name: {"type": "string", "enum": schema["enum"]}
        for name, schema in definitions.items()
        if "enum" in schema and "properties" not in schema
    }
    return {
        name: _clean(schema, enums) for name, schema in definitions.items() if name not in enums
    }


def install_openapi(app: FastAPI, models: list[type[BaseModel]], description: str) -> None:
    """Serve `/openapi.json` built from the routes and the wire `models`."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=OPENAPI_VERSION,
                description=description,
                routes=app.routes,
            )
            # Invalid requests answer 400 with an ErrorResponse (kit.errors), never FastAPI's 422.
            for operations in document.get("paths", {}).values():
                for operation in operations.values():
                    operation.get("responses", {}).pop("422", None)
            components = document.setdefault("components", {})
            components["schemas"] = component_schemas(models)
            components["securitySchemes"] = {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "Send `Authorization: Bearer <key>`; create keys with "
                    "`tidings keys create`.",
                }
            }
            document["security"] = [{"bearerAuth": []}]
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


def install_docs(app: FastAPI) -> None:
    """The interactive API docs at `/docs`, with Swagger UI served from the package itself."""
    app.mount(
        DOCS_ASSETS,
        StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
        name="docs-assets",
    )

    async def docs(_request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )

    app.add_route("/docs", docs, include_in_schema=False)
