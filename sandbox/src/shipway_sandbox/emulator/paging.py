"""Lists in key order, a page at a time, at a cost proportional to the page.

A list is served from a :class:`Listing`: the keys of a resource's objects (``namespace/name``, byte-wise, as
etcd orders them) and a way to the object at each. The store keeps the listing of the live objects of a
resource across all namespaces from one write to the next, so the pages of a large list (a controller's
initial sync of thousands of objects) each cost a binary search and their own objects, not a sort of the
whole collection. A page at an older resourceVersion (a continue token) uses the live listing when nothing of
the resource has changed since; otherwise it is rebuilt from the live objects with the later changes undone.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Callable, Sequence

from shipway_sandbox.emulator import objects


@dataclasses.dataclass(frozen=True)
class Listing:
    """Keys in order, and the object (as the resource serves it) at an index."""

    keys: Sequence[str]
    body_at: Callable[[int], objects.Body]


@dataclasses.dataclass(frozen=True)
class Page:
    items: list[objects.Body]
    last_key: str  # the key of the last item ("" when there is none)
    more: bool  # objects that match follow the page
    remaining: int | None  # how many objects follow (only when every object matches: etcd cannot count others)


def page_of(listing: Listing, *, start: str, limit: int, accept: Callable[[objects.Body], bool],
            everything: bool) -> Page:
    """The objects from key ``start`` on that ``accept`` takes, at most ``limit`` (0: all)."""
    first = bisect.bisect_left(listing.keys, start) if start else 0
    items: list[objects.Body] = []
    last_key = ""
    for index in range(first, len(listing.keys)):
        body = listing.body_at(index)
        if not accept(body):
            continue
        if 0 < limit <= len(items):
            return Page(items=items, last_key=last_key, more=True,
                        remaining=len(listing.keys) - index if everything else None)
        items.append(body)
        last_key = listing.keys[index]
    return Page(items=items, last_key=last_key, more=False, remaining=None)
