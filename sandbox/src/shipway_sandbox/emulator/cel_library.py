"""A subset of the CEL libraries kube-apiserver adds to admission expressions, for cel-python.

cel-python has CEL's standard functions only. kube-apiserver also has cel-go's strings extension and the
Kubernetes libraries (lists, regex, URLs, IPs, quantities, semver, the authorizer). This module provides the
most used part of them, with their semantics:

* strings: ``charAt``, ``indexOf``, ``lastIndexOf``, ``lowerAscii``, ``upperAscii``, ``replace``, ``split``,
  ``substring``, ``trim``, and ``join`` on lists of strings;
* lists: ``isSorted``, ``sum``, ``max`` (``min`` is cel-python's own), ``indexOf``/``lastIndexOf`` on lists;
* regex: ``find``, ``findAll``;
* and CEL's own ``string()``, which cel-python gets wrong for booleans.

Anything else (``format``, ``quantity``, ``url``, ``ip``, ``cidr``, ``semver``, ``authorizer``...) is an
undeclared reference: the policy is refused when written, so a test never passes on a function the emulator
silently misreads. Each function answers CEL's ``no such overload`` error (as a value) on other argument types.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

from celpy import celtypes
from celpy.evaluation import CELEvalError


def _overload(name: str) -> CELEvalError:
    return CELEvalError("no such overload", TypeError, (name,))


def _strings(*values: Any) -> bool:
    return all(isinstance(v, celtypes.StringType) for v in values)


def _ints(*values: Any) -> bool:
    return all(isinstance(v, celtypes.IntType) and not isinstance(v, celtypes.BoolType) for v in values)


def _string(value: str) -> celtypes.StringType:
    return celtypes.StringType(value)


def char_at(text: Any, index: Any) -> Any:
    if not (_strings(text) and _ints(index)):
        return _overload("charAt")
    if not 0 <= int(index) <= len(text):
        return CELEvalError(f"index out of range: {int(index)}", IndexError, ())
    return _string(text[int(index):int(index) + 1])


def index_of(target: Any, item: Any, start: Any = None) -> Any:
    if isinstance(target, celtypes.ListType) and start is None:
        return celtypes.IntType(next((i for i, v in enumerate(target) if v == item), -1))
    if not _strings(target, item) or (start is not None and not _ints(start)):
        return _overload("indexOf")
    return celtypes.IntType(target.find(item, int(start or 0)))


def last_index_of(target: Any, item: Any, end: Any = None) -> Any:
    if isinstance(target, celtypes.ListType) and end is None:
        found = [i for i, v in enumerate(target) if v == item]
        return celtypes.IntType(found[-1] if found else -1)
    if not _strings(target, item) or (end is not None and not _ints(end)):
        return _overload("lastIndexOf")
    limit = len(target) if end is None else int(end) + len(item)
    return celtypes.IntType(target.rfind(item, 0, limit))


def lower_ascii(text: Any) -> Any:
    if not _strings(text):
        return _overload("lowerAscii")
    return _string("".join(c.lower() if c.isascii() else c for c in text))


def upper_ascii(text: Any) -> Any:
    if not _strings(text):
        return _overload("upperAscii")
    return _string("".join(c.upper() if c.isascii() else c for c in text))


def replace(text: Any, old: Any, new: Any, count: Any = None) -> Any:
    if not _strings(text, old, new) or (count is not None and not _ints(count)):
        return _overload("replace")
    return _string(text.replace(old, new, -1 if count is None else int(count)))


def split(text: Any, separator: Any, limit: Any = None) -> Any:
    if not _strings(text, separator) or (limit is not None and not _ints(limit)):
        return _overload("split")
    if limit is not None and int(limit) == 0:
        return celtypes.ListType([])
    maximum = -1 if limit is None or int(limit) < 0 else int(limit) - 1
    parts = list(text) if separator == "" else text.split(separator, maximum)
    return celtypes.ListType([_string(p) for p in parts])


def substring(text: Any, start: Any, end: Any = None) -> Any:
    if not _strings(text) or not _ints(start) or (end is not None and not _ints(end)):
        return _overload("substring")
    stop = len(text) if end is None else int(end)
    if not 0 <= int(start) <= stop <= len(text):
        return CELEvalError(f"index out of range: {int(start)}", IndexError, ())
    return _string(text[int(start):stop])


def trim(text: Any) -> Any:
    return _string(text.strip()) if _strings(text) else _overload("trim")


def join(items: Any, separator: Any = None) -> Any:
    values: list[Any] = list(items) if isinstance(items, celtypes.ListType) else []
    if not isinstance(items, celtypes.ListType) or not _strings(*values) or (
            separator is not None and not _strings(separator)):
        return _overload("join")
    return _string(str(separator or "").join(values))


def is_sorted(items: Any) -> Any:
    if not isinstance(items, celtypes.ListType):
        return _overload("isSorted")
    values: list[Any] = list(items)
    try:
        return celtypes.BoolType(all(a <= b for a, b in itertools.pairwise(values)))
    except TypeError:
        return _overload("isSorted")


def sum_of(items: Any) -> Any:
    if not isinstance(items, celtypes.ListType):
        return _overload("sum")
    values: list[Any] = list(items)
    if not values:
        return celtypes.IntType(0)
    total = values[0]
    try:
        for value in values[1:]:
            total = total + value
    except TypeError:
        return _overload("sum")
    return total


def max_of(items: Any) -> Any:
    if not isinstance(items, celtypes.ListType):
        return _overload("max")
    values: list[Any] = list(items)
    if not values:
        return CELEvalError("max of empty list", ValueError, ())
    try:
        return max(values)
    except TypeError:
        return _overload("max")


def string(value: Any) -> Any:
    """CEL's ``string()`` (cel-python writes booleans as Python does: ``True``)."""
    if isinstance(value, celtypes.BoolType):
        return _string("true" if value else "false")
    if value is None or isinstance(value, celtypes.ListType | celtypes.MapType):
        return _overload("string")
    return celtypes.StringType(value)


def find(text: Any, pattern: Any) -> Any:
    if not _strings(text, pattern):
        return _overload("find")
    try:
        match = re.search(pattern, text)
    except re.error as exc:
        return CELEvalError(f"invalid regex: {exc}", ValueError, ())
    return _string(match.group(0) if match else "")


def find_all(text: Any, pattern: Any, limit: Any = None) -> Any:
    if not _strings(text, pattern) or (limit is not None and not _ints(limit)):
        return _overload("findAll")
    try:
        found = [m.group(0) for m in re.finditer(pattern, text)]
    except re.error as exc:
        return CELEvalError(f"invalid regex: {exc}", ValueError, ())
    if limit is not None and int(limit) >= 0:
        found = found[: int(limit)]
    return celtypes.ListType([_string(f) for f in found])


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "charAt": char_at, "indexOf": index_of, "lastIndexOf": last_index_of, "lowerAscii": lower_ascii,
    "upperAscii": upper_ascii, "replace": replace, "split": split, "substring": substring, "trim": trim,
    "join": join, "string": string, "isSorted": is_sorted, "sum": sum_of, "max": max_of, "find": find,
    "findAll": find_all,
}
