"""Stage 4: the message for one recipient over one medium, rendered from the type's templates.

Each medium gets its native form: Slack Block Kit, a Microsoft Teams Adaptive Card, an email
with text and HTML parts, and a JSON document for webhooks. Templates run sandboxed with
strict undefined names, so a fact missing from the event is an error, never a blank.
"""

import json
from dataclasses import dataclass
from functools import cache
from html import escape
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from tidings.engine.context import Context
from tidings.engine.messages import MESSAGES
from tidings.engine.recipients import Candidate
from tidings.enums import Medium, NotificationType
from tidings.logs.service import object_mapping_to_wire
from tidings.notification_types import display_name


class ContentError(Exception):
    """The templates could not be rendered for this event (PACKET_GENERATOR_ERROR)."""


@dataclass(frozen=True)
class Content:
    """A rendered message: subject, plain text, and the medium's structured body as JSON."""

    subject: str
    text: str
    body: str

    @property
    def is_empty(self) -> bool:
        """Whether there is nothing to say (MISSING_CONTENT)."""
        return not self.text.strip()

    def as_tuple(self) -> tuple[str, str, str]:
        """The content as stored: (subject, text, body)."""
        return self.subject, self.text, self.body


_ENVIRONMENT = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


@cache
def _templates(notification_type: NotificationType) -> tuple[Template, Template]:
    subject, body = MESSAGES[notification_type]
    return _ENVIRONMENT.from_string(subject), _ENVIRONMENT.from_string(body)


def _recipient(candidate: Candidate) -> dict[str, str]:
    if candidate.channel is not None:
        return {"name": candidate.channel, "email": ""}
    name = candidate.user.name if candidate.user is not None else (candidate.email or "")
    return {"name": name, "email": candidate.email or ""}


def render(context: Context, candidate: Candidate, medium: Medium) -> Content:
    """The message for `candidate` over `medium`; raises ContentError when templates fail."""
    notification_type = context.event.type
    subject_template, body_template = _templates(notification_type)
    variables: dict[str, Any] = {
        "entity": context.entity,
        "scorecard": context.scorecard,
        "initiative": context.initiative,
        "data": context.event.data,
        "recipient": _recipient(candidate),
        "link": context.link(),
        "type_name": display_name(notification_type),
    }
    try:
        subject = subject_template.render(variables).strip()
        text = body_template.render(variables).strip()
    except (TemplateError, TypeError, ValueError, AttributeError) as error:
        raise ContentError(f"the {notification_type.value} template failed: {error}") from error
    body = _LAYOUTS[medium](subject, text, context)
    return Content(subject, text, json.dumps(body, separators=(",", ":")))


def _slack(subject: str, text: str, context: Context) -> dict[str, Any]:
    return {
        "text": f"{subject}\n{text}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": subject[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"<{context.link()}|Open>"}],
            },
        ],
    }


def _teams(subject: str, text: str, context: Context) -> dict[str, Any]:
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": subject,
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {"type": "TextBlock", "text": text, "wrap": True},
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": context.link()}],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }


def _email(subject: str, text: str, context: Context) -> dict[str, Any]:
    paragraphs = "".join(f"<p>{escape(line)}</p>" for line in text.splitlines() if line.strip())
    html = (
        f"<h1>{escape(subject)}</h1>{paragraphs}"
        f'<p><a href="{escape(context.link(), quote=True)}">Open</a></p>'
    )
    reply_to = (
        list(context.initiative.schedule.reply_to_emails)
        if context.initiative is not None and context.initiative.schedule is not None
        else []
    )
    return {"html": html, "replyTo": reply_to}


def _webhook(subject: str, text: str, context: Context) -> dict[str, Any]:
    return {
        "type": context.event.type.value,
        "subject": subject,
        "text": text,
        "link": context.link(),
        # Shaped as the API's NotificationObject, so receivers parse one form.
        "objects": [object_mapping_to_wire(row) for row in context.object_rows()],
        "data": context.event.data,
    }


_LAYOUTS = {
    Medium.SLACK: _slack,
    Medium.MICROSOFT_TEAMS: _teams,
    Medium.EMAIL: _email,
    Medium.WEBHOOK: _webhook,
}
