"""Kubernetes timestamps (metav1.Time): RFC 3339 in UTC, to the second. The one place they are written."""

from __future__ import annotations

import datetime

KUBE_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def kube_time(moment: datetime.datetime) -> str:
    """``moment`` (timezone-aware) as Kubernetes writes a ``metav1.Time``."""
    return moment.astimezone(datetime.UTC).strftime(KUBE_TIME_FORMAT)
