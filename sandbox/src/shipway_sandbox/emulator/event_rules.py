"""Validation of Events as kube-apiserver does it (``pkg/apis/core/validation/events.go``), pure.

Every Event passes the legacy rules, whichever version it is written through: an Event of the old API (no
``eventTime``) lives in its object's namespace (``default`` for a cluster-scoped object); one of the new API
(``eventTime`` set) names its reporting controller and instance, its action and reason, and lives in its
object's namespace, or in ``default`` or ``kube-system`` for a cluster-scoped object. Written through
``events.k8s.io/v1`` an Event is held to the strict rules as well: ``eventTime`` required, ``type`` Normal or
Warning, the deprecated fields unset on creation, a ``series`` of at least 2 with its ``lastObservedTime``,
and on update everything but ``series`` (and metadata) immutable.
"""

from __future__ import annotations

import json
import re

from shipway_sandbox.emulator import errors, event_versions, objects
from shipway_sandbox.emulator.resources import ResourceSpec
from shipway_sandbox.emulator.schemas import Cause, message

NAME_LIMIT = 128  # reportingInstance, action and reason
NOTE_LIMIT = 1024
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_IMMUTABLE = ("involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp", "count", "type",
              "eventTime", "action", "related", "reportingComponent", "reportingInstance")
_STRICT_NAMES = {"reportingComponent": "reportingController"}  # the field paths of the strict update rules


def _required(field: str) -> Cause:
    return Cause("FieldValueRequired", field, "Required value")


def _invalid(field: str, value: object, detail: str) -> Cause:
    return Cause("FieldValueInvalid", field, f"Invalid value: {json.dumps(value)}: {detail}")


def _text(event: objects.Body, key: str) -> str:
    value = event.get(key)
    return "" if value is None else str(value)


def _empty(value: object) -> bool:
    return value in (None, "", 0, {}, [])


def _qualified_name(value: str) -> bool:
    prefix, slash, name = value.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_QUALIFIED_NAME.match(name))


def _legacy(event: objects.Body, *, strict: bool) -> list[Cause]:
    causes: list[Cause] = []
    namespace = str(objects.meta_of(event).get("namespace") or "")
    involved = event.get("involvedObject") if isinstance(event.get("involvedObject"), dict) else {}
    involved_namespace = str((involved or {}).get("namespace") or "")
    mismatch = _invalid("involvedObject.namespace", involved_namespace, "does not match event.namespace")
    if _empty(event.get("eventTime")):
        if (namespace not in ("", "default")) if not involved_namespace else namespace != involved_namespace:
            causes.append(mismatch)
        return causes
    if not involved_namespace and namespace not in ("default", "kube-system"):
        causes.append(mismatch)
    controller_field = "reportingController" if strict else "reportingComponent"
    controller = _text(event, "reportingComponent")
    if not controller:
        causes.append(_required(controller_field))
    elif not _qualified_name(controller):
        causes.append(_invalid(controller_field, controller, "must be a qualified name"))
    for key in ("reportingInstance", "action", "reason"):
        value = _text(event, key)
        if not value:
            causes.append(_required(key))
        elif len(value) > NAME_LIMIT:
            causes.append(_invalid(key, "", f"can have at most {NAME_LIMIT} characters"))
    if len(_text(event, "message")) > NOTE_LIMIT:
        causes.append(_invalid("message", "", f"can have at most {NOTE_LIMIT} characters"))
    return causes


def _series(event: objects.Body) -> list[Cause]:
    series = event.get("series")
    if not isinstance(series, dict):
        return []
    causes: list[Cause] = []
    if not isinstance(series.get("count"), int) or series["count"] < 2:
        causes.append(_invalid("series.count", "", "should be at least 2"))
    if _empty(series.get("lastObservedTime")):
        causes.append(_required("series.lastObservedTime"))
    return causes


def _strict_create(event: objects.Body) -> list[Cause]:
    causes = _series(event)
    if _empty(event.get("eventTime")):
        causes.append(_required("eventTime"))
    if _text(event, "type") not in ("Normal", "Warning"):
        causes.append(_invalid("type", "", f"has invalid value: {_text(event, 'type')}"))
    for core, served in (("firstTimestamp", "deprecatedFirstTimestamp"), ("lastTimestamp", "deprecatedLastTimestamp"),
                         ("count", "deprecatedCount"), ("source", "deprecatedSource")):
        if not _empty(event.get(core)):
            causes.append(_invalid(served, "", "needs to be unset"))
    return causes


def _strict_update(event: objects.Body, old: objects.Body) -> list[Cause]:
    causes = _series(event) if event.get("series") != old.get("series") else []
    for key in _IMMUTABLE:
        new_value, old_value = event.get(key), old.get(key)
        if not (new_value == old_value or (_empty(new_value) and _empty(old_value))):
            causes.append(_invalid(_STRICT_NAMES.get(key, key), new_value, "field is immutable"))
    return causes


def validate(spec: ResourceSpec, body: objects.Body, *, old: objects.Body | None) -> None:
    """422 Invalid, every cause listed, for an Event written through ``spec`` (either version)."""
    strict = (spec.group, spec.plural) == event_versions.EVENTS_V1
    event = event_versions.convert(body, event_versions.CORE_VERSION)
    causes = _legacy(event, strict=strict)
    if strict:
        if old is None:
            causes += _strict_create(event)
        else:
            causes += _strict_update(event, event_versions.convert(old, event_versions.CORE_VERSION))
    if causes:
        name = str(objects.meta_of(body).get("name") or "")
        raise errors.invalid(spec.kind, spec.group, name, [c.as_json() for c in causes],
                             message=message(spec.kind, spec.group, name, causes))
