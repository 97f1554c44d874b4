"""Field errors worded as ``k8s.io/apimachinery/pkg/util/validation/field`` words them, and the 422 they make.

``FieldError.body`` is ``(*field.Error).ErrorBody()``: ``Required value``, ``Forbidden: <detail>``, ``Too long:
may not be more than N bytes``, ``Invalid value: <value>: <detail>``, ``Unsupported value: <value>: supported
values: "a", "b"``. Values are printed as Go prints them there: strings quoted (``%q``), numbers and booleans
bare, a ``[]string`` as ``[]string{"a", "b"}``, a struct as ``%#v`` (given already formatted, see :class:`GoValue`).

:func:`invalid` is ``apierrors.NewInvalid``: ``Kind.group "name" is invalid: <error>`` (``[<e1>, <e2>]`` for
several, duplicates dropped as ``ErrorList.ToAggregate`` does), every error also a ``details.causes`` entry.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence

from shipway_sandbox.emulator import errors

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
FORBIDDEN = "FieldValueForbidden"
TOO_LONG = "FieldValueTooLong"
DUPLICATE = "FieldValueDuplicate"
_WORDS = {REQUIRED: "Required value", INVALID: "Invalid value", NOT_SUPPORTED: "Unsupported value",
          FORBIDDEN: "Forbidden", TOO_LONG: "Too long", DUPLICATE: "Duplicate value"}
_VALUELESS = frozenset({REQUIRED, FORBIDDEN, TOO_LONG})
IMMUTABLE = "field is immutable"  # apimachineryvalidation.FieldImmutableErrorMsg


@dataclasses.dataclass(frozen=True)
class GoValue:
    """A bad value already printed the Go way (``rbac.RoleRef{APIGroup:"...", Kind:"...", Name:"..."}``)."""

    text: str


def go_quote(text: str) -> str:
    """``strconv.Quote`` for the strings met here (printable Unicode kept, control characters escaped)."""
    return json.dumps(text, ensure_ascii=False)


def go_value(value: object) -> str:
    """How ``ErrorBody`` prints a bad value."""
    if isinstance(value, GoValue):
        return value.text
    if value is None:
        return '"null"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return "[]string{" + ", ".join(go_quote(v) for v in value) + "}"
    return go_quote(json.dumps(value, separators=(",", ":")))


@dataclasses.dataclass(frozen=True)
class FieldError:
    type: str
    field: str
    value: object = None
    detail: str = ""

    @property
    def body(self) -> str:
        text = _WORDS[self.type]
        if self.type not in _VALUELESS:
            text = f"{text}: {go_value(self.value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def __str__(self) -> str:
        return f"{self.field}: {self.body}"

    def cause(self) -> dict[str, str]:
        return {"reason": self.type, "message": self.body, "field": self.field}


@dataclasses.dataclass(frozen=True)
class RawError:
    """A field error already worded elsewhere (a CRD schema's, see :mod:`schemas`)."""

    field: str
    type: str
    body: str

    def __str__(self) -> str:
        return f"{self.field}: {self.body}"

    def cause(self) -> dict[str, str]:
        return {"reason": self.type, "message": self.body, "field": self.field}


AnyError = FieldError | RawError


def required(field: str, detail: str = "") -> FieldError:
    return FieldError(REQUIRED, field, None, detail)


def invalid_value(field: str, value: object, detail: str) -> FieldError:
    return FieldError(INVALID, field, value, detail)


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError(FORBIDDEN, field, None, detail)


def too_long(field: str, limit: int) -> FieldError:
    unit = "byte" if limit == 1 else "bytes"
    return FieldError(TOO_LONG, field, None, f"may not be more than {limit} {unit}")


def not_supported(field: str, value: object, supported: Sequence[str]) -> FieldError:
    detail = "supported values: " + ", ".join(go_quote(s) for s in supported) if supported else ""
    return FieldError(NOT_SUPPORTED, field, value, detail)


def immutable(field: str, value: object) -> FieldError:
    """``ValidateImmutableField``."""
    return invalid_value(field, value, IMMUTABLE)


def key_path(field: str, key: str) -> str:
    """``field.NewPath(field).Key(key)``: ``data[.dockerconfigjson]``."""
    return f"{field}[{key}]"


def invalid(kind: str, group: str, name: str, found: Sequence[AnyError]) -> errors.Invalid:
    """``apierrors.NewInvalid(schema.GroupKind{group, kind}, name, found)``."""
    unique: dict[str, AnyError] = {}
    for error in found:
        unique.setdefault(str(error), error)
    listed = list(unique.values())
    qualified = f"{kind}.{group}" if group else kind
    text = str(listed[0]) if len(listed) == 1 else "[" + ", ".join(str(e) for e in listed) + "]"
    return errors.invalid(kind, group, name, [e.cause() for e in found],
                          message=f"{qualified} {go_quote(name)} is invalid: {text}")


def raise_if(kind: str, group: str, name: str, found: Sequence[AnyError]) -> None:
    if found:
        raise invalid(kind, group, name, found)
