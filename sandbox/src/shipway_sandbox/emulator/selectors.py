"""Label and field selectors, parsed and matched as the API server does (pure)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping

from shipway_sandbox.emulator import errors, event_versions, objects

_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_CMP_RE = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|!=|=)\s*([A-Za-z0-9_./-]*)\s*$")

# Field labels every resource supports, plus a few per-resource extras the real server supports; Events
# (both versions) have their own, with values computed as the server does (see :mod:`event_versions`).
_COMMON_FIELDS = frozenset({"metadata.name", "metadata.namespace"})
_EXTRA_FIELDS: Mapping[tuple[str, str], frozenset[str]] = {
    ("", "secrets"): frozenset({"type"}),
    **{resource: frozenset(labels) for resource, labels in event_versions.FIELD_LABELS.items()},
}


@dataclasses.dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # one of: =, !=, in, notin, exists, !exists
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        match self.operator:
            case "exists":
                return present
            case "!exists":
                return not present
            case "=" | "in":
                return present and labels[self.key] in self.values
            case _:  # "!=" | "notin": absent keys match, as in Kubernetes
                return not present or labels[self.key] not in self.values


Selector = Callable[[objects.Body], bool]


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside the parentheses of ``in (...)`` sets."""
    terms: list[str] = []
    depth, current = 0, list[str]()
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return [t for t in (t.strip() for t in terms) if t]


def parse_labels(text: str | None) -> list[Requirement]:
    if not text:
        return []
    result: list[Requirement] = []
    for term in _split_terms(text):
        cmp = _CMP_RE.match(term)
        if cmp:
            key, op, value = cmp.groups()
            result.append(Requirement(key, "!=" if op == "!=" else "=", frozenset({value})))
            continue
        setm = _SET_RE.match(term)
        if not setm:
            raise errors.BadRequest(f"unable to parse requirement: {term!r}")
        negated, key, op, values = setm.groups()
        if op:
            if negated:
                raise errors.BadRequest(f"unable to parse requirement: {term!r}")
            vals = frozenset(v.strip() for v in values.split(",") if v.strip())
            result.append(Requirement(key, op, vals))
        else:
            result.append(Requirement(key, "!exists" if negated else "exists"))
    return result


def parse_fields(text: str | None, *, group: str, plural: str) -> list[tuple[str, bool, str]]:
    """``(field path, must equal, value)`` triples; unsupported field labels are a 400, as for real."""
    if not text:
        return []
    allowed = _COMMON_FIELDS | _EXTRA_FIELDS.get((group, plural), frozenset())
    result: list[tuple[str, bool, str]] = []
    for term in _split_terms(text):
        cmp = _CMP_RE.match(term)
        if not cmp:
            raise errors.BadRequest(f"invalid selector: {term!r}; can't understand {term!r}")
        key, op, value = cmp.groups()
        if key not in allowed:
            raise errors.BadRequest(f'field label not supported: {key}')
        result.append((key, op != "!=", value))
    return result


def _field_value(body: objects.Body, path: str, *, group: str = "", plural: str = "") -> str:
    special = event_versions.FIELD_LABELS.get((group, plural), {}).get(path)
    if special is not None:
        return special(body)
    node: object = body
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return "" if node is None else str(node)


class CompiledSelector:
    """One predicate for both selectors; ``everything`` when neither selects anything (a list can then count
    what remains after a page: ``remainingItemCount``)."""

    def __init__(self, labels: list[Requirement], fields: list[tuple[str, bool, str]], *, group: str,
                 plural: str) -> None:
        self._labels, self._fields, self._group, self._plural = labels, fields, group, plural
        self.everything = not labels and not fields

    def __call__(self, body: objects.Body) -> bool:
        labels = objects.labels_of(body)
        if not all(req.matches(labels) for req in self._labels):
            return False
        return all((_field_value(body, path, group=self._group, plural=self._plural) == value) == equal
                   for path, equal, value in self._fields)


def compile_selector(*, label_selector: str | None, field_selector: str | None,
                     group: str, plural: str) -> Selector:
    """One predicate for both selectors; raises :class:`errors.BadRequest` on malformed input."""
    return CompiledSelector(parse_labels(label_selector), parse_fields(field_selector, group=group, plural=plural),
                            group=group, plural=plural)
