"""Which implementation each medium uses in this process, from the settings.

A medium whose provider is not configured records its messages in the outbox (and
`tidings serve` says so at start), so a laptop install works before any provider is set up.
"""

from collections.abc import Mapping

from sqlalchemy import Engine

from tidings.channels.base import Channel
from tidings.channels.email import EmailChannel
from tidings.channels.http import parse_networks
from tidings.channels.outbox import OutboxChannel
from tidings.channels.slack import SlackChannel
from tidings.channels.teams import TeamsChannel
from tidings.channels.webhook import WebhookChannel
from tidings.enums import Medium
from tidings.kit.clock import Clock
from tidings.settings import Settings


def build_channels(settings: Settings, engine: Engine, clock: Clock) -> dict[Medium, Channel]:
    """One channel per medium: the provider's when configured, else the outbox."""
    channels: dict[Medium, Channel] = {
        medium: OutboxChannel(medium, engine, clock) for medium in Medium
    }
    allowed = parse_networks(settings.webhook_allowed_networks)
    if settings.webhook_signing_secret is not None:
        channels[Medium.WEBHOOK] = WebhookChannel(
            clock,
            settings.webhook_signing_secret.get_secret_value(),
            allowed=allowed,
            timeout_s=settings.webhook_timeout_seconds,
            concurrency=settings.webhook_concurrency,
        )
    if settings.teams_enabled:
        direct = settings.teams_direct_webhook_url
        channels[Medium.MICROSOFT_TEAMS] = TeamsChannel(
            clock,
            direct_url=direct.get_secret_value() if direct is not None else None,
            allowed=allowed,
            timeout_s=settings.webhook_timeout_seconds,
            concurrency=settings.teams_concurrency,
            pace=settings.teams_per_webhook_per_second,
        )
    if settings.slack_bot_token is not None:
        channels[Medium.SLACK] = SlackChannel(
            clock,
            settings.slack_bot_token.get_secret_value(),
            base_url=settings.slack_api_url,
            concurrency=settings.slack_concurrency,
            pace=settings.slack_per_channel_per_second,
        )
    if settings.smtp_host is not None:
        password = settings.smtp_password
        channels[Medium.EMAIL] = EmailChannel(
            clock,
            settings.smtp_host,
            settings.smtp_port,
            sender=settings.smtp_from,
            security=settings.smtp_security,
            ca_file=settings.smtp_ca_file,
            username=settings.smtp_username,
            password=password.get_secret_value() if password is not None else None,
            concurrency=settings.smtp_concurrency,
        )
    return channels


def outbox_mediums(channels: Mapping[Medium, Channel]) -> list[Medium]:
    """The mediums whose messages only go to the outbox."""
    return [medium for medium, channel in channels.items() if isinstance(channel, OutboxChannel)]
