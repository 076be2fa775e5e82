"""The one place where failures become wire responses: `ErrorResponse` and problem+json."""

import logging
from enum import StrEnum
from math import ceil

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from tidings.kit.request_id import request_id_of

log = logging.getLogger(__name__)


class ErrorType(StrEnum):
    """The `type` of an ErrorResponse; the complete set Cortex's spec declares."""

    INTEGRATION_MISSING = "INTEGRATION_MISSING"
    INTEGRATION_UNREGISTERED = "INTEGRATION_UNREGISTERED"
    INTEGRATION_UNSUPPORTED = "INTEGRATION_UNSUPPORTED"
    INTEGRATION_GRAPHQL_ERROR = "INTEGRATION_GRAPHQL_ERROR"
    INTEGRATION_BAD_REQUEST = "INTEGRATION_BAD_REQUEST"
    INTEGRATION_UNAUTHORIZED = "INTEGRATION_UNAUTHORIZED"
    INTEGRATION_FORBIDDEN = "INTEGRATION_FORBIDDEN"
    INTEGRATION_NOT_FOUND = "INTEGRATION_NOT_FOUND"
    INTEGRATION_UNPROCESSABLE_CONTENT = "INTEGRATION_UNPROCESSABLE_CONTENT"
    INTEGRATION_RATE_LIMITED = "INTEGRATION_RATE_LIMITED"
    INTEGRATION_INTERNAL_ERROR = "INTEGRATION_INTERNAL_ERROR"
    INTEGRATION_NOT_IMPLEMENTED = "INTEGRATION_NOT_IMPLEMENTED"
    INTEGRATION_BAD_GATEWAY = "INTEGRATION_BAD_GATEWAY"
    INTEGRATION_UNAVAILABLE = "INTEGRATION_UNAVAILABLE"
    INTEGRATION_GATEWAY_TIMEOUT = "INTEGRATION_GATEWAY_TIMEOUT"
    INTEGRATION_TIMED_OUT = "INTEGRATION_TIMED_OUT"
    INTEGRATION_CACHE_ERROR = "INTEGRATION_CACHE_ERROR"
    INTEGRATION_UNHANDLED_HTTP_ERROR = "INTEGRATION_UNHANDLED_HTTP_ERROR"
    INTEGRATION_UNHANDLED_EXCEPTION = "INTEGRATION_UNHANDLED_EXCEPTION"
    INTEGRATION_UNEXPECTED_ERROR = "INTEGRATION_UNEXPECTED_ERROR"
    ILLEGAL_ARGUMENT_ERROR = "ILLEGAL_ARGUMENT_ERROR"
    BAD_REQUEST = "BAD_REQUEST"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
    CONFLICT = "CONFLICT"
    UNHANDLED_EXCEPTION = "UNHANDLED_EXCEPTION"
    UNCATEGORIZED = "UNCATEGORIZED"
    SERVICE_CREATOR = "SERVICE_CREATOR"
    UNKNOWN_HOST = "UNKNOWN_HOST"


class ApiError(Exception):
    """A failure the client should see as an `ErrorResponse` with this status and type."""

    def __init__(
        self,
        status: int,
        error_type: ErrorType,
        message: str,
        details: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(details or message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.details = details
        self.headers = headers or {}


def bad_request(details: str) -> ApiError:
    """A 400 whose details name the offending parameter."""
    return ApiError(400, ErrorType.BAD_REQUEST, "Bad Request", details)


def unauthorized(details: str) -> ApiError:
    """A 401 for a missing or unknown bearer token."""
    return ApiError(
        401,
        ErrorType.FORBIDDEN,
        "Unauthorized",
        details,
        headers={"WWW-Authenticate": 'Bearer realm="tidings"'},
    )


def forbidden(details: str) -> ApiError:
    """A 403 for a valid key that lacks the permission."""
    return ApiError(403, ErrorType.FORBIDDEN, "Forbidden", details)


def not_found(details: str) -> ApiError:
    """A 404 for something that does not exist."""
    return ApiError(404, ErrorType.NOT_FOUND, "Not Found", details)


def conflict(details: str) -> ApiError:
    """A 409 for a request the resource's state does not allow."""
    return ApiError(409, ErrorType.CONFLICT, "Conflict", details)


class RateLimitExceededError(Exception):
    """The caller spent its request budget; it may try again after `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limit exceeded; retry after {retry_after:.0f}s")
        self.retry_after = max(1, ceil(round(retry_after, 6)))  # 65.0000001 s is 65, not 66


def error_response(request: Request, error: ApiError) -> Response:
    """The JSON `ErrorResponse` for `error`, carrying the request id."""
    body: dict[str, object] = {
        "type": error.error_type.value,
        "message": error.message,
        "httpStatus": error.status,
        "requestId": request_id_of(request.scope),
    }
    if error.details:
        body["details"] = error.details
    # The header is set here too: a 500 is answered by Starlette's outermost middleware,
    # outside RequestIdMiddleware.
    return Response(
        orjson.dumps(body),
        status_code=error.status,
        media_type="application/json",
        headers={**error.headers, "X-Request-Id": str(body["requestId"])},
    )


def too_many_requests_response(request: Request, error: RateLimitExceededError) -> Response:
    """The 429 problem+json body with `Retry-After`, as the reference spec declares it."""
    body = {
        "type": "about:blank",
        "title": "Too Many Requests",
        "status": 429,
        "detail": "Rate limit exceeded",
        "instance": request.url.path,
        "retryAfter": error.retry_after,
    }
    return Response(
        orjson.dumps(body),
        status_code=429,
        media_type="application/problem+json",
        headers={"Retry-After": str(error.retry_after)},
    )


def _describe_validation_error(error: RequestValidationError) -> str:
    problems = []
    for item in error.errors():
        location = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        problems.append(f"{location or 'request'}: {item.get('msg', 'invalid')}")
    return "; ".join(problems) or "the request is invalid"


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception to one wire shape; FastAPI's default 422 never reaches a client."""

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(request, exc)

    async def on_rate_limited(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RateLimitExceededError)
        return too_many_requests_response(request, exc)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(request, bad_request(_describe_validation_error(exc)))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            error = not_found(f"no resource at {request.url.path}")
        else:
            error_type = ErrorType.BAD_REQUEST if exc.status_code < 500 else ErrorType.UNCATEGORIZED
            headers = dict(exc.headers) if exc.headers else None
            error = ApiError(exc.status_code, error_type, str(exc.detail), headers=headers)
        return error_response(request, error)

    async def on_unhandled(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error in %s %s", request.method, request.url.path)
        error = ApiError(500, ErrorType.UNHANDLED_EXCEPTION, "Internal Server Error")
        return error_response(request, error)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RateLimitExceededError, on_rate_limited)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unhandled)
