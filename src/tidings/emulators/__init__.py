"""Local servers that speak Slack's Web API, Teams Workflows webhooks, SMTP and signed webhooks.

Tests and demos deliver to them instead of the real services; see docs/emulators.md.
"""

from tidings.emulators.faults import Fault, FaultKind, FaultPlan, FaultRule
from tidings.emulators.received import Received
from tidings.emulators.slack import SlackChannel, SlackUser
from tidings.emulators.suite import EmulatorSuite

__all__ = [
    "EmulatorSuite",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "FaultRule",
    "Received",
    "SlackChannel",
    "SlackUser",
]
