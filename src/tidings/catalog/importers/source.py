"""Reading a catalog file: YAML (or JSON) documents that remember the line of every node.

Values come out as plain dicts, lists and scalars, so that validation can treat them like
any parsed YAML; the dicts and lists also carry the 1-based line of each of their children,
so that any problem found later can be reported as `path:line: message`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

# libyaml's parser when PyYAML was built with it: ten times faster on large files.
SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class SourceError:
    """A problem in a file, at a 1-based line when it has one."""

    line: int | None
    message: str

    def render(self, path: str) -> str:
        """The problem as compilers print it: `path:line: message`."""
        return f"{path}:{self.line}: {self.message}" if self.line else f"{path}: {self.message}"


class InvalidSourceError(Exception):
    """A file that cannot be imported, with every problem found in it."""

    def __init__(self, errors: Sequence[SourceError]) -> None:
        super().__init__("; ".join(error.message for error in errors))
        self.errors = tuple(errors)


class LineMapping(dict[Any, Any]):
    """A YAML mapping that knows its own line and the line of each of its keys."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}


class LineSequence(list[Any]):
    """A YAML sequence that knows its own line and the line of each of its items."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


@dataclass(frozen=True)
class Document:
    """One YAML document of a file and the line it starts on."""

    value: Any
    line: int


def line_of(node: Any) -> int | None:
    """The line a parsed value starts on, when it is a mapping or a sequence."""
    return node.line if isinstance(node, LineMapping | LineSequence) else None


def line_at(root: Any, path: Sequence[Any], default: int) -> int:
    """The line of the deepest node along `path` (keys and indexes) that exists in `root`.

    A missing field is reported on the line of the mapping that lacks it.
    """
    line, node = line_of(root) or default, root
    for step in path:
        if isinstance(node, LineMapping) and step in node:
            line, node = node.key_lines[step], node[step]
        elif isinstance(node, LineSequence) and isinstance(step, int) and 0 <= step < len(node):
            line, node = node.item_lines[step], node[step]
        else:
            break
    return line


def load_documents(text: str) -> list[Document]:
    """Every document of a YAML or JSON text; raises InvalidSourceError on bad syntax."""
    loader = SafeLoader(text)
    try:
        documents = []
        while loader.check_node():
            node = loader.get_node()
            assert node is not None  # check_node() said there is one
            documents.append(Document(_Builder(loader).build(node), _line(node)))
        return documents
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "unreadable"
        raise InvalidSourceError(
            [SourceError(mark.line + 1 if mark else None, f"invalid YAML: {problem}")]
        ) from None
    except yaml.YAMLError as error:
        raise InvalidSourceError([SourceError(None, f"invalid YAML: {error}")]) from None
    finally:
        loader.dispose()


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


class _Builder:
    """Turns composed YAML nodes into values, keeping lines and refusing duplicate keys."""

    def __init__(self, loader: yaml.SafeLoader) -> None:
        self.loader = loader
        # Nodes being built right now: an alias back to one of them is a cycle.
        self.open: set[int] = set()

    def build(self, node: Node) -> Any:
        """The value of `node`, with lines kept on every mapping and sequence inside it."""
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        if id(node) in self.open:
            raise InvalidSourceError([SourceError(_line(node), "a YAML alias refers to itself")])
        self.open.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return self._sequence(node)
            assert isinstance(node, MappingNode)
            return self._mapping(node)
        finally:
            self.open.discard(id(node))

    def _scalar(self, node: ScalarNode) -> Any:
        try:
            return self.loader.construct_object(node)
        except ValueError as error:
            raise InvalidSourceError(
                [SourceError(_line(node), f"invalid value '{node.value}': {error}")]
            ) from None

    def _sequence(self, node: SequenceNode) -> LineSequence:
        sequence = LineSequence(_line(node))
        for item in node.value:
            sequence.append(self.build(item))
            sequence.item_lines.append(_line(item))
        return sequence

    def _mapping(self, node: MappingNode) -> LineMapping:
        own = {id(key) for key, _ in node.value}
        self.loader.flatten_mapping(node)  # resolves `<<` merge keys, which come first
        mapping = LineMapping(_line(node))
        merged: set[Any] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise InvalidSourceError(
                    [SourceError(_line(key_node), "a mapping key must be a plain value")]
                )
            key = self._scalar(key_node)
            if id(key_node) not in own:
                merged.add(key)
            elif key in merged:
                merged.discard(key)  # a key of the mapping itself overrides a merged one
            elif key in mapping:
                first = mapping.key_lines[key]
                raise InvalidSourceError(
                    [SourceError(_line(key_node), f"duplicate key '{key}' (first on line {first})")]
                )
            mapping[key] = self.build(value_node)
            mapping.key_lines[key] = _line(key_node)
        return mapping
