"""Rendering the admin pages: the Jinja environment, its labels, and the headers every page
carries (Content-Security-Policy and friends)."""

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.responses import HTMLResponse, RedirectResponse, Response

from tidings import __version__
from tidings.enums import NotificationType
from tidings.kit.wire import format_instant
from tidings.notification_types import display_name

STATIC_DIRECTORY = Path(__file__).resolve().parent / "static"
STATIC_PATH = "/admin/static"
# No inline script or style anywhere: htmx and app.js come from our own origin, and htmx is
# told (meta htmx-config) not to inject its indicator style nor to evaluate expressions.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Filters live in the URL; links out to the portal should not carry them along.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

MEDIUM_LABELS = {
    "SLACK": "Slack",
    "MICROSOFT_TEAMS": "Microsoft Teams",
    "EMAIL": "Email",
    "WEBHOOK": "Webhook",
}
STATUS_LABELS = {
    "CREATED": "Created",
    "COMPLETED": "Completed",
    "COMPLETED_WITH_ERRORS": "Completed with errors",
    "FAILED": "Failed",
    "IGNORED": "Ignored",
    "READY": "Ready",
    "DELIVERED": "Delivered",
}


def type_name(value: str) -> str:
    """The display name of a notification type (the raw value if it is not one)."""
    try:
        return display_name(NotificationType(value))
    except ValueError:
        return value


def medium_label(value: str) -> str:
    """How people call a medium."""
    return MEDIUM_LABELS.get(value, value)


def status_label(value: str) -> str:
    """A run or log status as the product's page words it."""
    return STATUS_LABELS.get(value, value)


def reason_label(value: str) -> str:
    """An ignored or failed reason in words: `WORKSPACE_DISABLED` is "Workspace disabled"."""
    return value.replace("_", " ").capitalize()


def utc_text(instant: str) -> str:
    """A wire instant (`2026-11-01T12:00:00.000Z`) as text, until the browser makes it local."""
    return instant.replace("T", " ").removesuffix("Z").split(".")[0] + " UTC"


def web_link(url: str | None) -> str | None:
    """`url` when it is an http(s) link, else None, so stored text never becomes a
    `javascript:` link."""
    if not url:
        return None
    return url if urlsplit(url).scheme.lower() in {"http", "https"} else None


def static_url(name: str) -> str:
    """The URL of a static file, versioned so that a new release is fetched afresh."""
    return f"{STATIC_PATH}/{name}?v={__version__}"


TEMPLATES = Environment(
    loader=PackageLoader("tidings.web", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.filters.update(
    type_name=type_name,
    medium_label=medium_label,
    status_label=status_label,
    reason_label=reason_label,
    utc_text=utc_text,
    web_link=web_link,
    wire=format_instant,
)
TEMPLATES.globals.update(static=static_url)


def secured(response: Response) -> Response:
    """`response` with the headers every admin page carries."""
    response.headers.update(PAGE_HEADERS)
    return response


def render_text(template: str, context: dict[str, Any]) -> str:
    """A template rendered to HTML text (a part of a page)."""
    return TEMPLATES.get_template(template).render(context)


def render(template: str, context: dict[str, Any], status: int = 200) -> Response:
    """A template rendered to an HTML response with the page headers."""
    return secured(HTMLResponse(render_text(template, context), status_code=status))


def redirect(location: str) -> Response:
    """A 303 to `location` (after a POST the browser follows it with a GET)."""
    return secured(RedirectResponse(location, status_code=303))
