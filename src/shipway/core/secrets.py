"""Types that hold secret values without ever showing them, and a log filter as a second belt.

A :class:`Secret` prints as ``'***'`` in ``str``, ``repr``, f-strings, pydantic dumps and tracebacks; its
value comes out only through :meth:`Secret.reveal`, which is called where a value is really needed (the
bytes of a Secret object, an HTTP Basic header). Every value wrapped in a Secret is also remembered by the
:class:`RedactingFilter`, which masks it in any log record that somehow carries it.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

MASK = "***"
_MIN_REMEMBERED = 8  # shorter values would mask innocent text (field names, hosts); still masked in repr


class _KnownSecrets:
    """The values wrapped in Secrets in this process, for the log filter. Bounded, thread-safe.

    Values are indexed by their first ``_MIN_REMEMBERED`` characters, so masking a line costs one dictionary
    look-up per character of the line, however many values are known (a regex alternation of every value
    grew with them, and was rebuilt after each new one)."""

    def __init__(self, *, limit: int = 100_000) -> None:
        self._values: dict[str, None] = {}
        self._by_prefix: dict[str, list[str]] = {}  # each list longest first
        self._limit = limit
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        if len(value) < _MIN_REMEMBERED or value in self._values:
            return
        with self._lock:
            self._values[value] = None
            self._index(value)
            while len(self._values) > self._limit:
                self._unindex(next(iter(self._values)))

    def _index(self, value: str) -> None:
        bucket = self._by_prefix.setdefault(value[:_MIN_REMEMBERED], [])
        bucket.append(value)
        bucket.sort(key=len, reverse=True)

    def _unindex(self, value: str) -> None:
        self._values.pop(value, None)
        prefix = value[:_MIN_REMEMBERED]
        bucket = [v for v in self._by_prefix.get(prefix, []) if v != value]
        if bucket:
            self._by_prefix[prefix] = bucket
        else:
            self._by_prefix.pop(prefix, None)

    def redact(self, text: str) -> str:
        """``text`` with every known value masked: leftmost first, the longest value at each place."""
        index = self._by_prefix
        if not index or len(text) < _MIN_REMEMBERED:
            return text
        out: list[str] = []
        start = position = 0
        end = len(text) - _MIN_REMEMBERED
        while position <= end:
            bucket = index.get(text[position:position + _MIN_REMEMBERED])
            found = next((v for v in bucket if text.startswith(v, position)), None) if bucket else None
            if found is None:
                position += 1
                continue
            out += (text[start:position], MASK)
            position = start = position + len(found)
        out.append(text[start:])
        return "".join(out)


KNOWN_SECRETS = _KnownSecrets()


class Secret:
    """A secret string. Equality compares values; every printable form is masked."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret wraps a str")
        self._value = value
        KNOWN_SECRETS.add(value)

    def reveal(self) -> str:
        """The value itself. Call only where the value must leave the process to its rightful place."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __reduce__(self) -> Any:  # pickling would be a way out: refuse it
        raise TypeError("Secret values are not picklable")


# Secret-shaped text that may reach a log line without passing through a Secret first: headers and
# fields in JSON ("..."), Python reprs ('...') and "Key: value" forms.
_Q = "[\"']"
_AUTH_HEADER = re.compile(rf"(?i)(authorization{_Q}?\s*[:=]\s*{_Q}?)(basic|bearer)\s+[A-Za-z0-9._~+/=-]+")
_FIELDS = re.compile(
    rf"(?i)({_Q}(?:password|auth|identitytoken|registrytoken|token|access_token|refresh_token|"
    rf"\.dockerconfigjson|\.dockercfg){_Q}\s*:\s*)({_Q})(?:\\.|(?!\2).)*\2"
)


def redact_text(text: str) -> str:
    """Mask every secret-shaped pattern, then every known secret value, in ``text``.

    Patterns go first, so a remembered value that happens to occur in a field name cannot hide the field.
    """
    text = _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)} {MASK}", text)
    text = _FIELDS.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}{m.group(2)}", text)
    return KNOWN_SECRETS.redact(text)


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the final message (and drops arguments it formatted)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the raw template only
            message = str(record.msg)
        redacted = redact_text(message)
        if record.exc_info and record.exc_info[1] is not None:
            # Pre-render the traceback so its text can be masked too.
            formatter = logging.Formatter()
            record.exc_text = redact_text(formatter.formatException(record.exc_info))
            record.exc_info = None
        record.msg = redacted
        record.args = None
        return True


def install_redaction(logger: logging.Logger | None = None) -> RedactingFilter:
    """Attach a :class:`RedactingFilter` to every handler of ``logger`` (the root logger by default)."""
    target = logger or logging.getLogger()
    flt = RedactingFilter()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(flt)
    return flt
