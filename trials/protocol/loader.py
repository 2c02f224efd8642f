"""Strict YAML loading that keeps the line of every key and rejects duplicate keys."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import ROOT_PATH, ProtocolIssue

JsonValue = Any  # str | int | float | bool | None | list | dict, as produced by the walker

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_SCALAR_TAGS = frozenset({_STR, _INT, _FLOAT, _BOOL, _NULL})
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Alias expansion can multiply a small file into a huge tree; no real protocol comes near this.
_MAX_NODES = 200_000


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2-like scalars, so values mean what a reader expects."""


# YAML 1.1 turns yes/no/on/off (and the country code NO) into booleans and bare dates into
# date objects; keep only true/false as booleans and leave dates as strings so the parsed
# data is plain JSON and survives a canonical dump unchanged.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in {_BOOL, "tag:yaml.org,2002:timestamp"}]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
# YAML 1.1 reads 2.0e6 as a string (it wants 2.0e+6); cell doses are naturally written that way.
_StrictLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def join_path(parent: str, key: str | int) -> str:
    """Extend a JSON-style path: ``visits[3].window_after``."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _IDENTIFIER.fullmatch(key):
        return f"{parent}.{key}" if parent else key
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'{parent}["{escaped}"]'


@dataclass
class LoadResult:
    """The parsed document, the line of each path in it, and any structural problems."""

    data: JsonValue = None
    lines: dict[str, int] = field(default_factory=dict)
    issues: list[ProtocolIssue] = field(default_factory=list)


class _Walker:
    """Turn a composed node tree into plain Python values while recording lines."""

    def __init__(self, loader: _StrictLoader, result: LoadResult) -> None:
        self._loader = loader
        self._result = result
        self._active: set[int] = set()
        self._count = 0

    def _issue(self, path: str, node: Node, message: str) -> None:
        self._result.issues.append(ProtocolIssue(path, node.start_mark.line + 1, message))

    def walk(self, node: Node, path: str) -> JsonValue:
        self._count += 1
        if self._count > _MAX_NODES:
            raise _TooLarge(node)
        if id(node) in self._active:
            self._issue(path, node, "recursive alias is not allowed")
            return None
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        self._active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return self._sequence(node, path)
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
        finally:
            self._active.discard(id(node))
        self._issue(path, node, f"unsupported YAML node {type(node).__name__}")
        return None

    def _scalar(self, node: ScalarNode, path: str) -> JsonValue:
        if node.tag not in _SCALAR_TAGS:
            self._issue(path, node, f"unsupported YAML tag {node.tag!r}; use plain values")
            return None
        try:
            return self._loader.construct_object(node)
        except (ValueError, yaml.YAMLError):  # e.g. an explicit !!int on a non-number
            self._issue(path, node, f"cannot read {node.value!r} as {node.tag.rsplit(':', 1)[-1]}")
            return None

    def _sequence(self, node: SequenceNode, path: str) -> list[JsonValue]:
        if node.tag != _SEQ:
            self._issue(path, node, f"unsupported YAML tag {node.tag!r} on a list")
        items = []
        for index, item in enumerate(node.value):
            item_path = join_path(path, index)
            self._result.lines[item_path] = item.start_mark.line + 1
            items.append(self.walk(item, item_path))
        return items

    def _mapping(self, node: MappingNode, path: str) -> dict[str, JsonValue]:
        if node.tag != _MAP:
            self._issue(path, node, f"unsupported YAML tag {node.tag!r} on a mapping")
        mapping: dict[str, JsonValue] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE:
                # Merged keys would hide where a value came from; write them out instead.
                self._issue(path, key_node, "merge keys ('<<') are not supported")
                continue
            key = self._scalar(key_node, path) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                self._issue(path, key_node, "mapping keys must be plain strings")
                continue
            key_path = join_path(path, key)
            if key in mapping:
                self._issue(
                    key_path,
                    key_node,
                    f"duplicate key {key!r} (first given on line {first_line[key]})",
                )
                continue
            first_line[key] = key_line
            self._result.lines[key_path] = key_line
            mapping[key] = self.walk(value_node, key_path)
        return mapping


class _TooLarge(Exception):
    def __init__(self, node: Node) -> None:
        self.node = node


def _line_of_offset(text: str, offset: int) -> int:
    return text.count("\n", 0, max(offset, 0)) + 1


def _mark_line(error: yaml.YAMLError) -> int | None:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    return None if mark is None else int(mark.line) + 1


def _compose(text: str, result: LoadResult) -> tuple[_StrictLoader, Node] | None:
    """Compose the single document; on failure record why and return None."""
    try:
        # The reader checks the whole text for forbidden characters on construction.
        loader = _StrictLoader(text)
    except yaml.reader.ReaderError as exc:
        line = _line_of_offset(text, exc.position)
        result.issues.append(ProtocolIssue(ROOT_PATH, line, f"invalid YAML: {exc.reason}"))
        return None
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        detail = "; ".join(part for part in (exc.context, exc.problem) if part)
        result.issues.append(ProtocolIssue(ROOT_PATH, _mark_line(exc), f"invalid YAML: {detail}"))
        loader.dispose()
        return None
    if root is None:
        result.issues.append(ProtocolIssue(ROOT_PATH, 1, "the file is empty"))
        loader.dispose()
        return None
    return loader, root


def load_yaml(text: str) -> LoadResult:
    """Parse one YAML document; problems go to ``issues`` instead of raising."""
    result = LoadResult()
    composed = _compose(text, result)
    if composed is None:
        return result
    loader, root = composed
    root_line = root.start_mark.line + 1
    result.lines[ROOT_PATH] = root_line
    try:
        if not isinstance(root, MappingNode):
            message = "the top level must be a mapping"
            result.issues.append(ProtocolIssue(ROOT_PATH, root_line, message))
            return result
        result.data = _Walker(loader, result).walk(root, ROOT_PATH)
    except _TooLarge as exc:
        line = exc.node.start_mark.line + 1
        message = "document too large (alias expansion?)"
        result.issues.append(ProtocolIssue(ROOT_PATH, line, message))
    finally:
        loader.dispose()
    return result


def line_for(lines: dict[str, int], path: str) -> int | None:
    """Line of ``path``, or of its nearest ancestor that appears in the file."""
    candidate = path
    while True:
        if candidate in lines:
            return lines[candidate]
        if not candidate:
            return None
        cut = max(candidate.rfind("."), candidate.rfind("["))
        candidate = candidate[:cut] if cut > 0 else ""
