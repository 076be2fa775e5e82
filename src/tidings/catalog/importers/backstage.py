"""Backstage catalog entities (`catalog-info.yaml`, `apiVersion: backstage.io/...`).

Component, System and Domain become entities; Group becomes a team entity; User becomes a
user, a member of each team in `spec.memberOf`. Membership is read from users only:
`Group.spec.members` names users by their Backstage name, and Backstage requires
`User.spec.memberOf` anyway. API, Resource, Location and Template documents are skipped.

An entity in the `default` namespace keeps its name as its tag; in another namespace its
tag is `namespace.name`. Channels come from two annotations:
`slack.com/channel` (one or more channel names, comma-separated) and
`microsoft.com/teams-channel` (one Teams channel name).
"""

from typing import Any

from pydantic import Field

from tidings.catalog.declarations import (
    ChannelDeclaration,
    EntityDeclaration,
    FileDeclarations,
    MemberDeclaration,
    OwnerDeclaration,
    UserDeclaration,
)
from tidings.catalog.enums import EntityOrigin, GroupProvider, OwnerKind
from tidings.catalog.importers.source import InvalidSourceError, SourceError, line_at
from tidings.catalog.importers.validation import Email, ForeignModel, Tag, Text, validate
from tidings.enums import Medium

API_VERSION_PREFIX = "backstage.io/"
SLACK_ANNOTATION = "slack.com/channel"
TEAMS_ANNOTATION = "microsoft.com/teams-channel"
DEFAULT_NAMESPACE = "default"
ENTITY_KINDS = {"component", "system", "domain", "group"}
SKIPPED_KINDS = {"api", "resource", "location", "template"}
TEAM_TYPE = "team"


def is_backstage_entity(document: Any) -> bool:
    """Whether a document is a Backstage entity (its apiVersion says so)."""
    version = document.get("apiVersion") if isinstance(document, dict) else None
    return isinstance(version, str) and version.startswith(API_VERSION_PREFIX)


class Metadata(ForeignModel):
    name: Tag
    namespace: Tag = DEFAULT_NAMESPACE
    title: Text | None = None
    description: str | None = None
    annotations: dict[str, str] = Field(default_factory=dict)


class Profile(ForeignModel):
    display_name: Text | None = Field(None, alias="displayName")
    email: Email | None = None


class EntitySpec(ForeignModel):
    type: Text | None = None
    owner: Text | None = None
    profile: Profile | None = None


class UserSpec(ForeignModel):
    profile: Profile | None = None
    member_of: list[Text] = Field(default_factory=list, alias="memberOf")


class Envelope(ForeignModel):
    kind: Text
    metadata: Metadata


class EntityDocument(Envelope):
    spec: EntitySpec = EntitySpec()


class UserDocument(Envelope):
    spec: UserSpec = UserSpec()


def tag_of(name: str, namespace: str = DEFAULT_NAMESPACE) -> str:
    """The tidings tag of a Backstage entity name."""
    return name if namespace == DEFAULT_NAMESPACE else f"{namespace}.{name}"


def parse_ref(ref: str, default_kind: str) -> tuple[str, str]:
    """(kind, tag) of an entity reference: `[kind:][namespace/]name`, kind lower-cased."""
    kind, _, rest = ref.partition(":") if ":" in ref else (default_kind, "", ref)
    namespace, _, name = rest.partition("/") if "/" in rest else (DEFAULT_NAMESPACE, "", rest)
    return kind.strip().lower(), tag_of(name.strip(), namespace.strip())


def read_backstage(document: Any, line: int) -> FileDeclarations:
    """What one Backstage entity declares: an entity, a user, or nothing (skipped kinds)."""
    kind = validate(Envelope, document, line).kind.lower()
    if kind in SKIPPED_KINDS:
        return FileDeclarations(skipped=1)
    if kind == "user":
        return FileDeclarations(
            users=[_user(validate(UserDocument, document, line), document, line)]
        )
    if kind in ENTITY_KINDS:
        entity = validate(EntityDocument, document, line)
        return FileDeclarations(entities=[_entity(entity, kind, document, line)])
    raise InvalidSourceError(
        [
            SourceError(
                line_at(document, ("kind",), line),
                f"kind: unknown Backstage kind '{document['kind']}' (tidings reads Component, "
                "System, Domain, Group and User, and skips API, Resource, Location, Template)",
            )
        ]
    )


def _entity_type(kind: str, spec: EntitySpec, document: Any, line: int) -> str:
    if kind == "group":
        return TEAM_TYPE
    if kind == "component":
        if spec.type is None:
            raise InvalidSourceError(
                [SourceError(line_at(document, ("spec",), line), "spec.type: is required")]
            )
        return spec.type
    return spec.type or kind


def _entity(entity: EntityDocument, kind: str, document: Any, line: int) -> EntityDeclaration:
    metadata, spec = entity.metadata, entity.spec
    display_name = spec.profile.display_name if spec.profile else None
    owners = () if spec.owner is None else (_owner(spec.owner, document, line),)
    return EntityDeclaration(
        tag=tag_of(metadata.name, metadata.namespace),
        name=metadata.title or display_name or metadata.name,
        entity_type=_entity_type(kind, spec, document, line),
        line=line_at(document, ("metadata", "name"), line),
        description=metadata.description,
        owners=owners,
        channels=_channels(metadata.annotations),
        origin=EntityOrigin.BACKSTAGE,
    )


def _owner(ref: str, document: Any, line: int) -> OwnerDeclaration:
    kind, tag = parse_ref(ref, "group")
    if kind == "group":
        return OwnerDeclaration(kind=OwnerKind.GROUP, group_name=tag, provider=GroupProvider.CORTEX)
    if kind == "user":
        return OwnerDeclaration(kind=OwnerKind.USER, user_ref=tag)
    raise InvalidSourceError(
        [
            SourceError(
                line_at(document, ("spec", "owner"), line),
                f"spec.owner: '{ref}' is neither a group nor a user",
            )
        ]
    )


def _channels(annotations: dict[str, str]) -> tuple[ChannelDeclaration, ...]:
    slack = [
        ChannelDeclaration(Medium.SLACK, name.strip().removeprefix("#").strip())
        for name in annotations.get(SLACK_ANNOTATION, "").split(",")
    ]
    teams = [
        ChannelDeclaration(Medium.MICROSOFT_TEAMS, annotations.get(TEAMS_ANNOTATION, "").strip())
    ]
    unique = {(channel.medium, channel.name): channel for channel in slack + teams if channel.name}
    return tuple(unique.values())


def _user(user: UserDocument, document: Any, line: int) -> UserDeclaration:
    profile = user.spec.profile
    if profile is None or profile.email is None:
        raise InvalidSourceError(
            [
                SourceError(
                    line_at(document, ("spec", "profile"), line),
                    "spec.profile.email: is required (tidings knows people by email)",
                )
            ]
        )
    metadata = user.metadata
    name = profile.display_name or metadata.title or metadata.name
    memberships = []
    for index, ref in enumerate(user.spec.member_of):
        kind, team = parse_ref(ref, "group")
        ref_line = line_at(document, ("spec", "memberOf", index), line)
        if kind != "group":
            raise InvalidSourceError(
                [SourceError(ref_line, f"spec.memberOf[{index}]: '{ref}' is not a group")]
            )
        memberships.append(MemberDeclaration(team, profile.email, name, ref_line))
    return UserDeclaration(
        email=profile.email,
        name=name,
        line=line_at(document, ("metadata", "name"), line),
        backstage_name=tag_of(metadata.name, metadata.namespace),
        memberships=tuple({member.team_tag: member for member in memberships}.values()),
    )
