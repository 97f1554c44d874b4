"""Shell globs with the semantics of Go's ``path/filepath.Match`` (on a non-Windows kubelet).

``*`` matches any run of characters but ``/``, ``?`` one character but ``/``, ``[...]`` a class with
ranges ``lo-hi`` and negation ``[^...]``, ``\\`` escapes. A malformed pattern is an error (Go's
``ErrBadPattern``): a class that is empty, unclosed, starts a range with ``-``, or has an unfinished
escape. A reversed range such as ``[c-a]`` is not an error; it simply matches nothing.
"""

from __future__ import annotations


class BadPattern(ValueError):
    pass


def _escaped(chunk: str) -> tuple[str, str]:
    """One (possibly escaped) character of a class, and the rest; the rest must not be empty."""
    if not chunk or chunk[0] in "-]":
        raise BadPattern("a character class holds an empty item or a misplaced '-' or ']'")
    if chunk[0] == "\\":
        chunk = chunk[1:]
        if not chunk:
            raise BadPattern("a trailing backslash in a character class")
    char, rest = chunk[0], chunk[1:]
    if not rest:
        raise BadPattern("an unclosed '['")
    return char, rest


def _match_chunk(chunk: str, text: str) -> str | None:
    """Match ``chunk`` (no ``*``) at the start of ``text``: the rest of ``text``, or None. Raises BadPattern."""
    failed = False
    while chunk:
        if not failed and not text:
            failed = True
        head = chunk[0]
        if head == "[":
            char = ""
            if not failed:
                char, text = text[0], text[1:]
            chunk = chunk[1:]
            negated = bool(chunk) and chunk[0] == "^"
            if negated:
                chunk = chunk[1:]
            matched, ranges = False, 0
            while True:
                if chunk and chunk[0] == "]" and ranges > 0:
                    chunk = chunk[1:]
                    break
                low, chunk = _escaped(chunk)
                high = low
                if chunk[0] == "-":
                    high, chunk = _escaped(chunk[1:])
                if not failed and low <= char <= high:
                    matched = True
                ranges += 1
            if matched == negated:
                failed = True
        elif head == "?":
            if not failed:
                if text[0] == "/":
                    failed = True
                text = text[1:]
            chunk = chunk[1:]
        else:
            if head == "\\":
                chunk = chunk[1:]
                if not chunk:
                    raise BadPattern("a trailing backslash")
            if not failed:
                if chunk[0] != text[0]:
                    failed = True
                text = text[1:]
            chunk = chunk[1:]
    return None if failed else text


def _scan_chunk(pattern: str) -> tuple[bool, str, str]:
    """(leading star?, the chunk up to the next unescaped ``*`` outside a class, the rest)."""
    star = False
    while pattern.startswith("*"):
        pattern, star = pattern[1:], True
    in_class, i = False, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            i += 1
        elif c == "[":
            in_class = True
        elif c == "]":
            in_class = False
        elif c == "*" and not in_class:
            break
        i += 1
    return star, pattern[:i], pattern[i:]


def validate(pattern: str) -> None:
    """Raise BadPattern when Go would answer ErrBadPattern for ``pattern``."""
    rest = pattern
    while rest:
        _, chunk, rest = _scan_chunk(rest)
        _match_chunk(chunk, "")


def match(pattern: str, name: str) -> bool:
    """Does ``name`` match ``pattern``? Raises BadPattern for a malformed pattern (as Go does)."""
    validate(pattern)
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        if star and not chunk:
            return "/" not in name
        rest = _match_chunk(chunk, name)
        if rest is not None and (not rest or pattern):
            name = rest
            continue
        if star:
            found = False
            for i in range(len(name)):
                if name[i] == "/":
                    break
                rest = _match_chunk(chunk, name[i + 1:])
                if rest is not None:
                    if not pattern and rest:
                        continue
                    name, found = rest, True
                    break
            if found:
                continue
        return False
    return not name
