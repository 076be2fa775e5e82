"""The scriptable fault model every emulator shares: ordered rules, each used a number of times.

A rule is written as JSON (the control endpoint) or built in Python (`FaultRule.status(...)`):

    {"match": "alerts", "times": 2, "status": 503, "body": "upstream down"}
    {"ratelimited": 30}            # HTTP 429 with Retry-After: 30
    {"slack_error": "fatal_error"} # Slack: HTTP 200 {"ok": false, "error": "fatal_error"}
    {"delay": 2.5}                 # answer normally, 2.5 s late
    {"drop": true}                 # close the connection without answering

`match` names a target as the emulator sees it (a Slack channel name or id or user id or email,
a Teams webhook name, an SMTP recipient, a webhook receiver name); without it the rule matches
every request. `times` counts uses (default 1; 0 means for ever).
"""

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

HTTP_STATUSES = range(200, 600)
SMTP_REPLY_CODES = range(400, 600)


class FaultKind(StrEnum):
    """What an emulator does instead of (or before) answering normally."""

    STATUS = "status"
    RATELIMITED = "ratelimited"
    SLACK_ERROR = "slack_error"
    DELAY = "delay"
    DROP = "drop"


# What each protocol can express: only Slack has its error bodies, SMTP has no Retry-After.
HTTP_FAULTS = (FaultKind.STATUS, FaultKind.RATELIMITED, FaultKind.DELAY, FaultKind.DROP)
SMTP_FAULTS = (FaultKind.STATUS, FaultKind.DELAY, FaultKind.DROP)


@dataclass(frozen=True)
class Fault:
    """One fault, as the emulator applies it; only the fields of its kind are set."""

    kind: FaultKind
    status: int | None = None  # STATUS: the HTTP status, or the SMTP reply code
    body: str | None = None  # STATUS: the HTTP body, or the SMTP reply text
    retry_after: int | None = None  # RATELIMITED: seconds, sent as Retry-After
    slack_error: str | None = None  # SLACK_ERROR: the Slack error code
    delay: float | None = None  # DELAY: seconds before the normal answer

    def to_json(self) -> dict[str, Any]:
        """The fault's keys in a rule's JSON form."""
        if self.kind is FaultKind.STATUS:
            return {"status": self.status} | ({"body": self.body} if self.body is not None else {})
        if self.kind is FaultKind.RATELIMITED:
            return {"ratelimited": self.retry_after}
        if self.kind is FaultKind.SLACK_ERROR:
            return {"slack_error": self.slack_error}
        if self.kind is FaultKind.DELAY:
            return {"delay": self.delay}
        return {"drop": True}


@dataclass(frozen=True)
class FaultRule:
    """A fault, the target it applies to (None: any) and how many times (0: for ever)."""

    fault: Fault
    match: str | None = None
    times: int = 1

    def __post_init__(self) -> None:
        if self.times < 0:
            raise ValueError("times must be 0 (for ever) or more")
        if self.match is not None and not _normalized(self.match):
            raise ValueError("match must name a target, or be left out to match any")

    @classmethod
    def status(
        cls, status: int, body: str | None = None, *, match: str | None = None, times: int = 1
    ) -> "FaultRule":
        """Answer with this HTTP status (or SMTP reply code) and body (or reply text)."""
        return cls(Fault(FaultKind.STATUS, status=status, body=body), match, times)

    @classmethod
    def ratelimited(
        cls, retry_after: int, *, match: str | None = None, times: int = 1
    ) -> "FaultRule":
        """Answer HTTP 429 with `Retry-After: retry_after`."""
        return cls(Fault(FaultKind.RATELIMITED, retry_after=retry_after), match, times)

    @classmethod
    def slack_error(cls, code: str, *, match: str | None = None, times: int = 1) -> "FaultRule":
        """Answer Slack's HTTP 200 `{"ok": false, "error": code}`."""
        return cls(Fault(FaultKind.SLACK_ERROR, slack_error=code), match, times)

    @classmethod
    def delay(cls, seconds: float, *, match: str | None = None, times: int = 1) -> "FaultRule":
        """Answer normally, `seconds` late."""
        return cls(Fault(FaultKind.DELAY, delay=seconds), match, times)

    @classmethod
    def drop(cls, *, match: str | None = None, times: int = 1) -> "FaultRule":
        """Close the connection without answering."""
        return cls(Fault(FaultKind.DROP), match, times)

    @classmethod
    def from_json(cls, data: Any) -> "FaultRule":
        """Read one rule in its JSON form; ValueError says what is wrong with it."""
        if not isinstance(data, Mapping):
            raise ValueError("a fault rule is a JSON object")
        unknown = set(data) - {"match", "times", "body", *FaultKind}
        if unknown:
            raise ValueError(f"unknown keys in a fault rule: {', '.join(sorted(unknown))}")
        kinds = [kind for kind in FaultKind if kind in data]
        if len(kinds) != 1:
            raise ValueError(f"a fault rule has exactly one of: {', '.join(FaultKind)}")
        if "body" in data and kinds[0] is not FaultKind.STATUS:
            raise ValueError("body goes only with status")
        match = data.get("match")
        if match is not None and not isinstance(match, str):
            raise ValueError("match is a string")
        times = data.get("times", 1)
        if not _is_int(times):
            raise ValueError("times is an integer")
        return cls(_fault_from_json(kinds[0], data), match, times)

    def to_json(self) -> dict[str, Any]:
        """The rule's JSON form."""
        return {"match": self.match, "times": self.times, **self.fault.to_json()}

    def matches(self, targets: Iterable[str]) -> bool:
        """Whether the rule applies to a request aimed at any of these targets."""
        if self.match is None:
            return True
        wanted = _normalized(self.match)
        return any(_normalized(target) == wanted for target in targets)


def _fault_from_json(kind: FaultKind, data: Mapping[str, Any]) -> Fault:
    value = data[kind]
    if kind is FaultKind.STATUS:
        body = data.get("body")
        if not _is_int(value) or (body is not None and not isinstance(body, str)):
            raise ValueError("status is an integer and body, when given, a string")
        return Fault(kind, status=value, body=body)
    if kind is FaultKind.RATELIMITED:
        if not _is_int(value) or value < 0:
            raise ValueError("ratelimited is the Retry-After in whole seconds (0 or more)")
        return Fault(kind, retry_after=value)
    if kind is FaultKind.SLACK_ERROR:
        if not isinstance(value, str) or not value:
            raise ValueError("slack_error is a Slack error code such as channel_not_found")
        return Fault(kind, slack_error=value)
    if kind is FaultKind.DELAY:
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ValueError("delay is a number of seconds (0 or more)")
        return Fault(kind, delay=float(value))
    if value is not True:
        raise ValueError("drop is true")
    return Fault(kind)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _normalized(target: str) -> str:
    # People write Slack channels with or without '#', and emails in any case.
    return target.strip().removeprefix("#").casefold()


@dataclass
class _Entry:
    rule: FaultRule
    remaining: int | None = field(default=None)  # None: for ever


class FaultPlan:
    """An emulator's ordered fault rules; `take` uses up the first that matches a request.

    Tests add rules from their own thread while the emulator's event loop takes them: a lock
    keeps each take and each change whole.
    """

    def __init__(
        self,
        rules: Iterable[FaultRule] = (),
        *,
        supported: Iterable[FaultKind] = tuple(FaultKind),
        statuses: range = HTTP_STATUSES,
        protocol: str = "this emulator",
    ) -> None:
        self.supported = frozenset(supported)
        self.statuses = statuses
        self.protocol = protocol
        self.applied = 0
        self._entries: list[_Entry] = []
        self._lock = threading.Lock()
        self.add(*rules)

    def add(self, *rules: FaultRule) -> None:
        """Append rules after those already planned; ValueError when one cannot apply here."""
        for rule in rules:
            self._check(rule)
        with self._lock:
            self._entries.extend(_Entry(rule, rule.times or None) for rule in rules)

    def add_json(self, payload: Any) -> list[FaultRule]:
        """Append one rule or a list of rules in their JSON form; all or none are added."""
        items = payload if isinstance(payload, list) else [payload]
        rules = [FaultRule.from_json(item) for item in items]
        self.add(*rules)
        return rules

    def clear(self) -> None:
        """Forget every rule and the count of faults applied."""
        with self._lock:
            self._entries.clear()
            self.applied = 0

    def take(self, *targets: str) -> Fault | None:
        """The fault for a request aimed at these targets, using up one use of its rule."""
        if not self._entries:  # the common case, without taking the lock
            return None
        with self._lock:
            for index, entry in enumerate(self._entries):
                if not entry.rule.matches(targets):
                    continue
                if entry.remaining is not None:
                    entry.remaining -= 1
                    if entry.remaining == 0:
                        del self._entries[index]
                self.applied += 1
                return entry.rule.fault
        return None

    def rules(self) -> list[FaultRule]:
        """The rules still planned, each with the uses it has left as `times`."""
        with self._lock:
            return [replace(entry.rule, times=entry.remaining or 0) for entry in self._entries]

    def to_json(self) -> dict[str, Any]:
        """The plan as the control endpoint shows it."""
        return {"applied": self.applied, "rules": [rule.to_json() for rule in self.rules()]}

    def _check(self, rule: FaultRule) -> None:
        kind = rule.fault.kind
        if kind not in self.supported:
            allowed = ", ".join(sorted(self.supported))
            raise ValueError(f"{self.protocol} does not support {kind} faults (only {allowed})")
        status = rule.fault.status
        if status is not None and status not in self.statuses:
            raise ValueError(
                f"{self.protocol} answers status faults from {self.statuses.start} "
                f"to {self.statuses.stop - 1}, not {status}"
            )
