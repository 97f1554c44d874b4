"""Server-side dry run (``?dryRun=All``) and the request options it travels in, as kube-apiserver reads them.

Every write verb takes ``dryRun``: a list whose only allowed value is ``All`` (``ValidateDryRun``); any other
value is a 422 on the options object of the verb (``CreateOptions.meta.k8s.io "" is invalid: dryRun:
Unsupported value: []string{"x"}: supported values: "All"``). A dry-run request is processed in full
(defaulting, validation, admission webhooks, called with ``dryRun: true``) and answered with the object it
would have stored and the status code it would have had, but it is never committed: see :mod:`writing`.

A DELETE reads its ``DeleteOptions`` from the body when there is one, else from the query (as the API
server's delete handler does); the other verbs read theirs from the query. The options are also what an
``AdmissionReview`` carries in ``request.options``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from shipway_sandbox.emulator import errors, objects

ALL = "All"
META_V1 = "meta.k8s.io/v1"
OPTIONS_KINDS: Mapping[str, str] = {
    "create": "CreateOptions", "update": "UpdateOptions", "patch": "PatchOptions",
    "delete": "DeleteOptions", "deletecollection": "DeleteOptions",
}
_WRITE_PARAMETERS = ("fieldManager", "fieldValidation")


class Query:
    """Query parameters with their repeated values (``dryRun=All&dryRun=All``), from any multi-dict."""

    def __init__(self, items: Sequence[tuple[str, str]]) -> None:
        self._items = list(items)

    @classmethod
    def of(cls, multi: Any) -> Query:
        """From aiohttp's or yarl's ``MultiDictProxy`` (anything with ``items()``)."""
        return cls([(str(k), str(v)) for k, v in multi.items()])

    def get(self, key: str) -> str | None:
        return next((v for k, v in self._items if k == key), None)

    def all(self, key: str) -> list[str]:
        return [v for k, v in self._items if k == key]


def _go_strings(values: Sequence[str]) -> str:
    """A Go ``%#v`` of a ``[]string``, as field errors print their bad value."""
    return "[]string{" + ", ".join(json.dumps(v) for v in values) + "}"


def check(verb: str, values: Sequence[str]) -> bool:
    """Whether the request is a dry run; 422 Invalid for any value but ``All``."""
    if not values:
        return False
    if any(value != ALL for value in values):
        raise errors.invalid_options(OPTIONS_KINDS.get(verb, "CreateOptions"), "dryRun", "FieldValueNotSupported",
                                     f'Unsupported value: {_go_strings(values)}: supported values: "{ALL}"')
    return True


def write_options(kind: str, query: Query) -> objects.Body:
    """``CreateOptions`` or ``UpdateOptions`` of a create, update or patch (``kind`` says which)."""
    options: objects.Body = {"kind": kind, "apiVersion": META_V1}
    dry_run = query.all("dryRun")
    if dry_run:
        options["dryRun"] = dry_run
    for key in _WRITE_PARAMETERS:
        value = query.get(key)
        if value:
            options[key] = value
    return options


def delete_options(body: Any, query: Query) -> objects.Body:
    """The ``DeleteOptions`` of a delete: the body's when it has one, else the query's."""
    if isinstance(body, dict):
        options = {k: v for k, v in body.items() if k not in ("kind", "apiVersion")}
        dry_run = options.get("dryRun")
        if dry_run is not None and (not isinstance(dry_run, list) or not all(isinstance(v, str) for v in dry_run)):
            raise errors.BadRequest("DeleteOptions.dryRun must be a list of strings")
    else:
        options = {}
        for key in ("propagationPolicy", "orphanDependents", "gracePeriodSeconds"):
            value = query.get(key)
            if value is None:
                continue
            if key == "gracePeriodSeconds":
                try:
                    options[key] = int(value)
                except ValueError as exc:
                    raise errors.BadRequest(f"invalid gracePeriodSeconds: {value!r}") from exc
            elif key == "orphanDependents":
                options[key] = value.lower() in ("1", "t", "true")
            else:
                options[key] = value
        if query.all("dryRun"):
            options["dryRun"] = query.all("dryRun")
    return {"kind": "DeleteOptions", "apiVersion": META_V1, **options}


def is_dry_run(verb: str, options: Mapping[str, Any]) -> bool:
    """Check the ``dryRun`` of request options (see :func:`check`)."""
    values = options.get("dryRun") or []
    return check(verb, [str(v) for v in values])
