"""Wire models of errors: Cortex's `ErrorResponse` and the 429 problem document."""

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from tidings.kit.errors import ErrorType


class ErrorResponse(BaseModel):
    """Every error except 429: what went wrong and which request it was."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    type: ErrorType = Field(description="Category of the error.")
    message: str = Field(description="Short title of the error.")
    details: str | None = Field(None, description="What was wrong, naming the parameter.")
    http_status: int | None = Field(
        None, description="The HTTP status repeated.", json_schema_extra={"format": "int32"}
    )
    gateway_http_status: int | None = Field(
        None, description="Status from an upstream gateway.", json_schema_extra={"format": "int32"}
    )
    request_id: str | None = Field(None, description="The X-Request-Id of the request.")


class TooManyRequestsProblemDetail(BaseModel):
    """RFC 9457 problem document sent with 429."""

    type: str = Field(json_schema_extra={"format": "uri-reference"})
    title: str
    status: int = Field(ge=100, le=599, json_schema_extra={"format": "int32", "enum": [429]})
    detail: str | None = None
    instance: str | None = Field(None, json_schema_extra={"format": "uri-reference"})
    retry_after: int | None = Field(
        None,
        alias="retryAfter",
        ge=0,
        description="Seconds until the limit resets, as in Retry-After.",
        json_schema_extra={"format": "int32"},
    )
