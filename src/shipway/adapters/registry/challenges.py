"""Parsing ``WWW-Authenticate`` challenges (RFC 9110 section 11.6.1), without I/O.

A header may hold several challenges, each a scheme with comma-separated ``name=value`` parameters whose
values are tokens or quoted strings (which may contain commas and escaped quotes). Anything that does not
follow the grammar yields ``None``: a caller turns that into a reason, never into a traceback.
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Iterable, Mapping

MAX_HEADER_LENGTH = 8192
_TCHARS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")
_TOKEN68_EXTRA = frozenset("/")
_SPACE = " \t"


@dataclasses.dataclass(frozen=True, slots=True)
class Challenge:
    """One challenge: a lower-cased scheme and its parameters (lower-cased names)."""

    scheme: str
    params: Mapping[str, str]

    def get(self, name: str) -> str | None:
        return self.params.get(name)


class _Cursor:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return "" if self.end() else self.text[self.pos]

    def skip(self, chars: str) -> None:
        while not self.end() and self.text[self.pos] in chars:
            self.pos += 1

    def token(self, extra: frozenset[str] = frozenset()) -> str:
        start = self.pos
        while not self.end() and (self.text[self.pos] in _TCHARS or self.text[self.pos] in extra):
            self.pos += 1
        return self.text[start : self.pos]

    def quoted(self) -> str | None:
        """A quoted string starting at the cursor, unescaped; None when it is not terminated."""
        self.pos += 1  # the opening quote
        out: list[str] = []
        while not self.end():
            char = self.text[self.pos]
            self.pos += 1
            if char == '"':
                return "".join(out)
            if char == "\\":
                if self.end():
                    return None
                char = self.text[self.pos]
                self.pos += 1
            if char in "\r\n\x00":
                return None
            out.append(char)
        return None


def _parse_params(cursor: _Cursor) -> dict[str, str] | None:
    params: dict[str, str] = {}
    while not cursor.end():
        mark = cursor.pos
        cursor.skip(_SPACE + ",")
        if cursor.end():
            break
        name = cursor.token(_TOKEN68_EXTRA)
        if not name:
            return None
        cursor.skip(_SPACE)
        if cursor.peek() != "=":
            cursor.pos = mark  # a bare token: the next challenge's scheme
            break
        cursor.pos += 1
        cursor.skip(_SPACE)
        if cursor.peek() in ("", ",", "="):  # token68 (e.g. ``Negotiate abc==``), only as the sole value
            if params:
                return None
            padding = 1
            while cursor.peek() == "=":
                cursor.pos += 1
                padding += 1
            value: str | None = name + "=" * padding
            name = "token68"
        elif cursor.peek() == '"':
            value = cursor.quoted()
        else:
            value = cursor.token() or None
        if value is None:
            return None
        key = name.lower()
        if key in params:  # RFC 9110: each parameter name only once per challenge
            return None
        params[key] = value
    return params


def parse_challenges(headers: Iterable[str]) -> tuple[Challenge, ...] | None:
    """Every challenge in the given ``WWW-Authenticate`` header values, or None when one does not parse."""
    challenges: list[Challenge] = []
    for header in headers:
        if len(header) > MAX_HEADER_LENGTH:
            return None
        cursor = _Cursor(header)
        while True:
            cursor.skip(_SPACE + ",")
            if cursor.end():
                break
            scheme = cursor.token()
            if not scheme or (not cursor.end() and cursor.peek() not in _SPACE + ","):
                return None
            params = _parse_params(cursor)
            if params is None:
                return None
            challenges.append(Challenge(scheme=scheme.lower(), params=params))
    return tuple(challenges) if challenges else None


def pick_challenge(challenges: Iterable[Challenge]) -> Challenge | None:
    """The challenge Shipway answers: Bearer (with a realm) before Basic; None when neither is offered."""
    offered = list(challenges)
    for challenge in offered:
        if challenge.scheme == "bearer" and challenge.get("realm"):
            return challenge
    for challenge in offered:
        if challenge.scheme == "basic":
            return challenge
    return None
