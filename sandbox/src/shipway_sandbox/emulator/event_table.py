"""The Table kube-apiserver prints for Events (both versions): ``pkg/printers/internalversion``'s
``printEvent``, generated wide as the server always does (kubectl hides the columns of priority 1)."""

from __future__ import annotations

from collections.abc import Callable

from shipway_sandbox.emulator import event_versions, objects


def _column(name: str, description: str, *, priority: int = 0, format_: str = "") -> dict[str, object]:
    return {"name": name, "type": "string", "format": format_, "description": description, "priority": priority}


COLUMNS: tuple[dict[str, object], ...] = (
    _column("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
    _column("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
    _column("Reason", "This should be a short, machine understandable string that gives the reason for the "
                      "transition into the object's current status."),
    _column("Object", "The object that this event is about."),
    _column("Subobject", "If referring to a piece of an object instead of an entire object, this string "
                         "should contain a valid JSON/Go field access statement", priority=1),
    _column("Source", "The component reporting this event. Should be a short machine understandable string.",
            priority=1),
    _column("Message", "A human-readable description of the status of this operation."),
    _column("First Seen", "The time at which the event was first recorded. (Time of server receipt is in "
                          "TypeMeta.)", priority=1),
    _column("Count", "The number of times this event has occurred.", priority=1),
    _column("Name", "Name must be unique within a namespace.", priority=1, format_="name"),
)


def _part(body: objects.Body, key: str) -> objects.Body:
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def _source(event: objects.Body) -> str:
    """``formatEventSource``: the old API's component and host, each else the new API's controller, instance."""
    source = _part(event, "source")
    component = str(source.get("component") or event.get("reportingComponent") or "")
    host = str(source.get("host") or event.get("reportingInstance") or "")
    return f"{component}, {host}" if host else component


def cells(body: objects.Body, age: Callable[[str | None], str]) -> list[object]:
    event = event_versions.convert(body, event_versions.CORE_VERSION)
    first = age(event.get("firstTimestamp")) if event.get("firstTimestamp") else age(event.get("eventTime"))
    last = age(event.get("lastTimestamp")) if event.get("lastTimestamp") else first
    count = event.get("count") or 0
    series = event.get("series")
    if isinstance(series, dict):
        last, count = age(series.get("lastObservedTime")), series.get("count") or 0
    elif not count:
        count = 1  # singleton events of the new API carry no count
    involved = _part(event, "involvedObject")
    kind = str(involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    return [last, event.get("type") or "", event.get("reason") or "", target, involved.get("fieldPath") or "",
            _source(event), str(event.get("message") or "").strip(), first, int(count),
            objects.meta_of(event).get("name")]
