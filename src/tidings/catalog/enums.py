"""The closed sets of the catalog, spelled as Cortex spells them where Cortex has them."""

from enum import StrEnum


class EntityOrigin(StrEnum):
    """Which catalog an entity was declared in; links to it point there."""

    CORTEX = "CORTEX"
    BACKSTAGE = "BACKSTAGE"


class UserRole(StrEnum):
    """What a user may do in the workspace; admins receive the admin-audience types."""

    ADMIN = "ADMIN"
    MEMBER = "MEMBER"


class OwnerKind(StrEnum):
    """How an entity owner is named."""

    GROUP = "GROUP"  # a team (provider CORTEX: its tag) or an identity-provider group
    EMAIL = "EMAIL"  # a person's address, a tidings user or not
    USER = "USER"  # a Backstage user reference, resolved to the user's email when read


class GroupProvider(StrEnum):
    """Where an owner group comes from (Cortex's `OwnerGroup.provider`)."""

    ACTIVE_DIRECTORY = "ACTIVE_DIRECTORY"
    BAMBOO_HR = "BAMBOO_HR"
    CORTEX = "CORTEX"
    GITHUB = "GITHUB"
    GITLAB = "GITLAB"
    GOOGLE = "GOOGLE"
    OKTA = "OKTA"
    OPSGENIE = "OPSGENIE"
    WORKDAY = "WORKDAY"
    SERVICE_NOW = "SERVICE_NOW"


class OwnerInheritance(StrEnum):
    """How a domain's owner passes to the entities below it."""

    APPEND = "APPEND"
    FALLBACK = "FALLBACK"
    NONE = "NONE"


class TimeUnit(StrEnum):
    """The unit of an initiative's notification schedule."""

    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


class DayOfWeek(StrEnum):
    """A day of the week, Monday first as in ISO 8601."""

    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"

    @property
    def iso_number(self) -> int:
        """1 for Monday through 7 for Sunday, as `date.isoweekday()` counts."""
        return list(DayOfWeek).index(self) + 1
