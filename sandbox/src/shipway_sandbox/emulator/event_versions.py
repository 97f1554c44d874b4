"""Events kept once and served through two API groups, as kube-apiserver does (pure).

kube-apiserver stores an Event once (etcd key ``/registry/events``) and serves it both as ``v1`` Event (the
core group) and as ``events.k8s.io/v1`` Event, converting between the two on every read and write
(``k8s.io/kubernetes/pkg/apis/events/v1/conversion.go`` through the internal type):

==============================  =================================
core ``v1``                     ``events.k8s.io/v1``
==============================  =================================
``involvedObject``              ``regarding``
``message``                     ``note``
``source``                      ``deprecatedSource``
``firstTimestamp``              ``deprecatedFirstTimestamp``
``lastTimestamp``               ``deprecatedLastTimestamp``
``count``                       ``deprecatedCount``
``reportingComponent``          ``reportingController``
==============================  =================================

``metadata``, ``eventTime``, ``series`` (``count``, ``lastObservedTime``), ``reportingInstance``, ``action``,
``reason``, ``related`` and ``type`` are the same in both. The emulator keeps every Event in its core form
(under the core group-resource); :func:`served` renders a stored Event as a version serves it, with the
fields a Go server always writes (a zero struct is ``{}``, a zero time ``null``, a core string without
``omitempty`` ``""``), and :func:`stored` turns a request's body into the stored form.

Field selectors follow the same mapping (``regarding.name`` is ``involvedObject.name``, and so on); the core
field ``source`` is ``source.component``, or ``reportingComponent`` when that is empty
(``pkg/registry/core/event/strategy.go``: ``ToSelectableFields``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping

from shipway_sandbox.emulator import objects

CORE_EVENTS = ("", "events")
EVENTS_V1 = ("events.k8s.io", "events")
CORE_VERSION = "v1"
EVENTS_VERSION = "events.k8s.io/v1"

# core field -> events.k8s.io/v1 field (every other field has one name in both)
_RENAMED: tuple[tuple[str, str], ...] = (
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("reportingComponent", "reportingController"),
)
_TO_EVENTS = dict(_RENAMED)
_TO_CORE = {new: old for old, new in _RENAMED}

# What a Go server writes for a zero value of each version's fields that have no ``omitempty`` effect.
_ALWAYS: Mapping[str, Mapping[str, object]] = {
    CORE_VERSION: {"involvedObject": {}, "source": {}, "firstTimestamp": None, "lastTimestamp": None,
                   "eventTime": None, "reportingComponent": "", "reportingInstance": ""},
    EVENTS_VERSION: {"regarding": {}, "deprecatedSource": {}, "deprecatedFirstTimestamp": None,
                     "deprecatedLastTimestamp": None, "eventTime": None},
}
# Fields with ``omitempty`` that are dropped when empty (strings and counts; pointers when null).
_OMITTED: Mapping[str, frozenset[str]] = {
    CORE_VERSION: frozenset({"message", "reason", "type", "action", "count", "series", "related"}),
    EVENTS_VERSION: frozenset({"note", "reason", "type", "action", "deprecatedCount", "series", "related",
                               "reportingController", "reportingInstance"}),
}

# Storage aliases: a group-resource served from another one's storage.
STORED_UNDER: Mapping[tuple[str, str], tuple[str, str]] = {EVENTS_V1: CORE_EVENTS}


def is_event(group: str, plural: str) -> bool:
    return (group, plural) in (CORE_EVENTS, EVENTS_V1)


def storage_resource(group: str, plural: str) -> tuple[str, str]:
    """The group-resource whose storage holds objects of ``group``/``plural``."""
    return STORED_UNDER.get((group, plural), (group, plural))


def _form(body: objects.Body) -> str:
    """Which version's field names a body uses (by its ``apiVersion``, else by its fields)."""
    version = body.get("apiVersion")
    if version in (CORE_VERSION, EVENTS_VERSION):
        return str(version)
    return EVENTS_VERSION if any(key in body for key in _TO_CORE) else CORE_VERSION


def convert(body: objects.Body, version: str) -> objects.Body:
    """The Event with the field names of ``version`` (``v1`` or ``events.k8s.io/v1``); a new dict."""
    source = _form(body)
    if source == version:
        out = dict(body)
    else:
        names = _TO_EVENTS if version == EVENTS_VERSION else _TO_CORE
        out = {names.get(key, key): value for key, value in body.items()}
    out["apiVersion"] = version
    return out


def stored(body: objects.Body) -> objects.Body:
    """A request's Event (either version) as the emulator stores it: the core form."""
    return convert(body, CORE_VERSION)


def served(body: objects.Body, version: str) -> objects.Body:
    """A stored Event as ``version`` serves it, with the fields a Go server always writes."""
    out = convert(body, version)
    for key in _OMITTED[version]:
        if key in out and out[key] in (None, "", 0, {}):
            del out[key]
    for key, zero in _ALWAYS[version].items():
        if out.get(key) is None:
            out[key] = copy.copy(zero)
    return out


# -- field selectors ---------------------------------------------------------------------------------------
def _text(value: object) -> str:
    return "" if value is None else str(value)


def _reference_field(reference: str, name: str) -> Callable[[objects.Body], str]:
    def get(body: objects.Body) -> str:
        ref = body.get(reference)
        return _text(ref.get(name)) if isinstance(ref, dict) else ""

    return get


def _core_source(body: objects.Body) -> str:
    source = body.get("source")
    component = _text(source.get("component")) if isinstance(source, dict) else ""
    return component or _text(body.get("reportingComponent"))


_REFERENCE_FIELDS = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")

# field label -> its value, per served version (``metadata.name``/``metadata.namespace`` are common to all)
FIELD_LABELS: Mapping[tuple[str, str], Mapping[str, Callable[[objects.Body], str]]] = {
    CORE_EVENTS: {
        **{f"involvedObject.{f}": _reference_field("involvedObject", f) for f in _REFERENCE_FIELDS},
        "reason": lambda body: _text(body.get("reason")),
        "reportingComponent": lambda body: _text(body.get("reportingComponent")),
        "source": _core_source,
        "type": lambda body: _text(body.get("type")),
    },
    EVENTS_V1: {
        **{f"regarding.{f}": _reference_field("regarding", f) for f in _REFERENCE_FIELDS},
        "reason": lambda body: _text(body.get("reason")),
        "reportingController": lambda body: _text(body.get("reportingController")),
        "type": lambda body: _text(body.get("type")),
    },
}
