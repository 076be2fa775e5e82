"""A catalog file read whole: each document in its own format, then checked as a file."""

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from tidings.catalog.declarations import FileDeclarations
from tidings.catalog.importers.backstage import is_backstage_entity, read_backstage
from tidings.catalog.importers.cortex import is_cortex_descriptor, read_descriptor
from tidings.catalog.importers.source import (
    Document,
    InvalidSourceError,
    SourceError,
    load_documents,
)
from tidings.catalog.importers.tidings_v1 import is_tidings_file, read_tidings_file
from tidings.catalog.importers.validation import repeated

CATALOG_SUFFIXES = frozenset({".yaml", ".yml", ".json"})
UNRECOGNISED = (
    "not a catalog document: expected a Cortex descriptor (info.x-cortex-tag), "
    "a Backstage entity (apiVersion: backstage.io/v1alpha1) or a tidings file (kind: tidings/v1)"
)


def catalog_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The files to import: each path given, and every catalog file under each directory.

    Hidden files and directories (`.github/`, `.git/`) are not searched: their YAML is
    someone else's (CI workflows), and would fail as unrecognised documents.
    """
    for path in paths:
        if path.is_dir():
            yield from sorted(
                found
                for found in path.rglob("*")
                if found.suffix.lower() in CATALOG_SUFFIXES
                and found.is_file()
                and not any(part.startswith(".") for part in found.relative_to(path).parts)
            )
        else:
            yield path


def read_catalog_file(path: Path) -> FileDeclarations:
    """Everything one file declares; raises InvalidSourceError listing every problem in it."""
    documents = load_documents(_text(path))
    declarations = FileDeclarations()
    errors: list[SourceError] = []
    for document in documents:
        if document.value is None:
            continue  # an empty document, such as a trailing `---`
        try:
            declarations.extend(read_document(document))
        except InvalidSourceError as error:
            errors += error.errors
    errors += conflicts(declarations)
    if errors:
        raise InvalidSourceError(sorted(errors, key=lambda error: error.line or 0))
    return declarations


def read_document(document: Document) -> FileDeclarations:
    """What one document declares, in whichever format it is written."""
    value: Any = document.value
    if not isinstance(value, dict):
        raise InvalidSourceError([SourceError(document.line, UNRECOGNISED)])
    if is_tidings_file(value):
        return read_tidings_file(value, document.line)
    if is_backstage_entity(value):
        return read_backstage(value, document.line)
    if is_cortex_descriptor(value):
        return read_descriptor(value, document.line)
    raise InvalidSourceError([SourceError(document.line, UNRECOGNISED)])


def conflicts(declarations: FileDeclarations) -> list[SourceError]:
    """The same thing declared twice in one file (across its documents too)."""
    kinds: list[tuple[str, list[tuple[Any, int]]]] = [
        ("entity", [(e.tag, e.line) for e in declarations.entities]),
        ("user", [(u.email, u.line) for u in declarations.users]),
        ("scorecard", [(s.tag, s.line) for s in declarations.scorecards]),
        ("initiative", [(i.tag, i.line) for i in declarations.initiatives]),
        (
            "on-call shift",
            [((s.entity_tag, s.user_email, s.starts_at), s.line) for s in declarations.shifts],
        ),
        ("verification period", [(p.name, p.line) for p in declarations.periods]),
        ("the workspace section", [(None, w.line) for w in declarations.workspaces]),
        (
            "team membership",
            [((m.team_tag, m.email), m.line) for m in declarations.members()],
        ),
    ]
    errors = []
    for kind, keyed in kinds:
        for index, first in repeated([key for key, _ in keyed]):
            key, line = keyed[index]
            errors.append(
                SourceError(
                    line, f"{_named(kind, key)} is declared twice (first on line {keyed[first][1]})"
                )
            )
    return errors


def _named(kind: str, key: Any) -> str:
    if key is None:
        return kind
    shown = key if isinstance(key, str) else " / ".join(str(part) for part in key)
    return f"{kind} '{shown}'"


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidSourceError([SourceError(None, "not UTF-8 text")]) from None
    except OSError as error:
        raise InvalidSourceError([SourceError(None, f"cannot read: {error.strerror}")]) from None
