"""A made-up engineering organisation for generated histories: people, teams, services."""

import random
from dataclasses import dataclass

from tidings.enums import ObjectType

FIRST_NAMES = [
    "Ada",
    "Amara",
    "Ana",
    "Arjun",
    "Bea",
    "Bilal",
    "Carmen",
    "Chen",
    "Dara",
    "Diego",
    "Elif",
    "Emeka",
    "Farah",
    "Femi",
    "Greta",
    "Hana",
    "Hugo",
    "Ines",
    "Ivan",
    "Jana",
    "Jonas",
    "Kai",
    "Kemal",
    "Lara",
    "Leila",
    "Luca",
    "Maya",
    "Mei",
    "Mateo",
    "Nadia",
    "Nils",
    "Noor",
    "Omar",
    "Olga",
    "Pavel",
    "Priya",
    "Quinn",
    "Rafael",
    "Rosa",
    "Sami",
    "Sofia",
    "Tariq",
    "Tomas",
    "Uma",
    "Vera",
    "Wei",
    "Yara",
    "Yusuf",
    "Zoe",
]
LAST_NAMES = [
    "Abara",
    "Berg",
    "Costa",
    "Dahl",
    "Eze",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quist",
    "Rossi",
    "Sato",
    "Tanaka",
    "Ueda",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
    "Novak",
    "Silva",
    "Kaur",
    "Mensah",
    "Horvat",
    "Larsen",
    "Mahler",
    "Oduya",
    "Park",
    "Reyes",
    "Santos",
    "Tran",
    "Vogel",
]
DOMAINS = [
    "payments",
    "checkout",
    "ledger",
    "billing",
    "identity",
    "search",
    "catalog",
    "orders",
    "shipping",
    "inventory",
    "pricing",
    "fraud",
    "notifications",
    "messaging",
    "analytics",
    "reporting",
    "platform",
    "gateway",
    "mobile",
    "web",
]
SERVICE_KINDS = ("api", "worker", "service", "ui", "db", "stream", "jobs", "sdk")
SCORECARDS = (
    ("prod-readiness", "Production Readiness"),
    ("security-baseline", "Security Baseline"),
    ("slo-coverage", "SLO Coverage"),
    ("dora-metrics", "DORA Metrics"),
    ("on-call-health", "On-call Health"),
    ("docs-quality", "Documentation Quality"),
    ("dependency-hygiene", "Dependency Hygiene"),
    ("cost-awareness", "Cost Awareness"),
)
INITIATIVES = (
    "Adopt SLOs everywhere",
    "Migrate to Java 21",
    "Rotate all long-lived secrets",
    "Remove Log4j 1.x",
    "Reach Gold in Production Readiness",
    "Kubernetes 1.31 upgrade",
    "Tag every service with an owner",
    "Enable SSO on all internal tools",
)
APP_URL = "https://tidings.example.com"


@dataclass(frozen=True)
class Person:
    """Someone who can receive notifications; `user_id` is None for an owner email only."""

    user_id: int | None
    name: str
    email: str


@dataclass(frozen=True)
class Team:
    """A team entity with members and channels."""

    entity_id: int
    tag: str
    cid: str
    name: str
    members: tuple[Person, ...]
    slack_channel: str
    teams_channel: str


@dataclass(frozen=True)
class Service:
    """A non-team entity owned by teams and sometimes by an owner email."""

    entity_id: int
    tag: str
    cid: str
    name: str
    owners: tuple[Team, ...]
    owner_emails: tuple[Person, ...]
    slack_channel: str | None
    teams_channel: str | None


@dataclass(frozen=True)
class Thing:
    """A scorecard or initiative as runs refer to it."""

    object_type: ObjectType
    object_id: int
    tag: str | None
    name: str


@dataclass(frozen=True)
class World:
    """Everything a generated history refers to."""

    users: tuple[Person, ...]
    outsiders: tuple[Person, ...]
    teams: tuple[Team, ...]
    services: tuple[Service, ...]
    scorecards: tuple[Thing, ...]
    initiatives: tuple[Thing, ...]


def _people(rng: random.Random, count: int, first_id: int | None) -> list[Person]:
    people: list[Person] = []
    seen: set[str] = set()
    while len(people) < count:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}@example.com".lower()
        if email in seen:
            email = f"{first}.{last}{len(people)}@example.com".lower()
        seen.add(email)
        user_id = None if first_id is None else first_id + len(people)
        people.append(Person(user_id, f"{first} {last}", email))
    return people


def _kind_label(kind: str) -> str:
    return kind.upper() if kind in ("api", "ui", "sdk", "db") else kind.title()


def _cid(rng: random.Random) -> str:
    return "en" + "".join(rng.choice("0123456789abcdef") for _ in range(16))


def build_world(seed: int, users: int = 480, services: int = 140) -> World:
    """The same organisation for the same seed."""
    rng = random.Random(f"world-{seed}")
    people = _people(rng, users, first_id=1001)
    outsiders = _people(random.Random(f"outsiders-{seed}"), 40, first_id=None)
    teams = []
    for index, domain in enumerate(DOMAINS):
        members = tuple(rng.sample(people, rng.randint(4, 14)))
        teams.append(
            Team(
                entity_id=9001 + index,
                tag=f"{domain}-team",
                cid=_cid(rng),
                name=f"{domain.title()} Team",
                members=members,
                slack_channel=f"#team-{domain}",
                teams_channel=f"{domain.title()} Engineering",
            )
        )
    entities = []
    for index in range(services):
        domain = DOMAINS[index % len(DOMAINS)]
        kind = SERVICE_KINDS[(index // len(DOMAINS)) % len(SERVICE_KINDS)]
        tag = f"{domain}-{kind}"
        owners = (teams[index % len(teams)],) + (
            (rng.choice(teams),) if rng.random() < 0.25 else ()
        )
        entities.append(
            Service(
                entity_id=5001 + index,
                tag=tag,
                cid=_cid(rng),
                name=f"{domain.title()} {_kind_label(kind)}",
                owners=owners,
                owner_emails=tuple(rng.sample(outsiders, 1)) if rng.random() < 0.2 else (),
                slack_channel=f"#{tag}-alerts" if rng.random() < 0.7 else None,
                teams_channel=(
                    f"{domain.title()} {kind.title()} Alerts" if rng.random() < 0.3 else None
                ),
            )
        )
    scorecards = tuple(
        Thing(ObjectType.SCORECARD, 301 + index, tag, name)
        for index, (tag, name) in enumerate(SCORECARDS)
    )
    initiatives = tuple(
        Thing(ObjectType.INITIATIVE, 401 + index, None, name)
        for index, name in enumerate(INITIATIVES)
    )
    return World(
        users=tuple(people),
        outsiders=tuple(outsiders),
        teams=tuple(teams),
        services=tuple(entities),
        scorecards=scorecards,
        initiatives=initiatives,
    )


def object_rows(world: World) -> list[dict[str, object]]:
    """Every object of the world as rows of `notification_objects`."""
    rows: list[dict[str, object]] = []
    for team in world.teams:
        rows.append(
            {
                "object_type": ObjectType.ENTITY,
                "object_id": team.entity_id,
                "name": team.name,
                "tag": team.tag,
                "cid": team.cid,
                "url": f"{APP_URL}/catalog/{team.tag}",
            }
        )
    for service in world.services:
        rows.append(
            {
                "object_type": ObjectType.ENTITY,
                "object_id": service.entity_id,
                "name": service.name,
                "tag": service.tag,
                "cid": service.cid,
                "url": f"{APP_URL}/catalog/{service.tag}",
            }
        )
    for thing in (*world.scorecards, *world.initiatives):
        kind = "scorecards" if thing.object_type is ObjectType.SCORECARD else "initiatives"
        rows.append(
            {
                "object_type": thing.object_type,
                "object_id": thing.object_id,
                "name": thing.name,
                "tag": thing.tag,
                "cid": None,
                "url": f"{APP_URL}/{kind}/{thing.object_id}",
            }
        )
    return rows
