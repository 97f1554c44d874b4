"""Size limits of kube-apiserver and etcd, with the answers a client gets for crossing them.

* A request body over 3 MiB (``MaxRequestBodyBytes``, ``k8s.io/apiserver/pkg/server/config.go``: twice etcd's
  limit, since JSON is larger than the protobuf stored) is refused before it is decoded: 413
  ``Request entity too large: limit is 3145728`` (reason ``RequestEntityTooLarge``).
* etcd refuses a write larger than 1.5 MiB (``--max-request-bytes`` 1572864): kube-apiserver passes etcd's
  error on as a ``Status`` it did not make: 500, no reason, message ``etcdserver: request is too large``. The
  stored size is estimated as the object's compact JSON with its key (built-in kinds are stored as protobuf,
  somewhat smaller: a Secret's ``data`` is counted decoded, not as base64). A dry run never reaches etcd, so it
  is not refused.
* Secrets and ConfigMaps hold 1 MiB of data at most, and annotations 256 KiB: validation rules, see
  :mod:`builtin_rules`.

aiohttp itself refuses bodies over 1 MiB with its own 413; :func:`make_request` lifts that so the limit above
is the one that applies.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import aiohttp.web

from shipway_sandbox.emulator import errors, objects, resources
from shipway_sandbox.emulator.resources import ResourceSpec

MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024
ETCD_MAX_REQUEST_BYTES = 1024 * 1024 + 512 * 1024
_ETCD_OVERHEAD = 64  # the etcd transaction around key and value
_BODY_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


class RequestEntityTooLarge(errors.ApiError):
    code = 413
    reason = "RequestEntityTooLarge"


class EtcdRequestTooLarge(errors.ApiError):
    """An error that is not a ``metav1.Status``: ``ErrorToAPIStatus`` makes it a 500 with no reason."""

    code = 500
    reason = ""

    def status(self) -> objects.Body:
        body = super().status()
        body.pop("reason", None)
        return body


def check_request_body(verb: str | None, body: bytes) -> None:
    """413 for a write whose body is over the API server's limit."""
    if verb in _BODY_VERBS and len(body) > MAX_REQUEST_BODY_BYTES:
        raise RequestEntityTooLarge(f"Request entity too large: limit is {MAX_REQUEST_BODY_BYTES}")


def stored_size(spec: ResourceSpec, body: objects.Body) -> int:
    """The estimated size of the etcd write of ``body`` (key and value)."""
    counted: Any = body
    if spec.key == resources.SECRETS.key and isinstance(body.get("data"), dict):
        counted = {**body, "data": {k: _decoded_length(v) * "x" for k, v in body["data"].items()}}
    meta = objects.meta_of(body)
    key = f"/registry/{spec.plural}/{meta.get('namespace') or ''}/{meta.get('name') or ''}"
    return len(json.dumps(counted, separators=(",", ":")).encode()) + len(key) + _ETCD_OVERHEAD


def _decoded_length(value: Any) -> int:
    try:
        return len(base64.b64decode(str(value or "")))
    except ValueError:
        return len(str(value or ""))


def check_stored_size(spec: ResourceSpec, body: objects.Body) -> None:
    if stored_size(spec, body) > ETCD_MAX_REQUEST_BYTES:
        raise EtcdRequestTooLarge("etcdserver: request is too large")


def make_request(message: Any, payload: Any, protocol: Any, writer: Any,
                 task: asyncio.Task[None]) -> aiohttp.web.BaseRequest:
    """The ``request_factory`` of the emulator's ``aiohttp.web.Server``: requests that read bodies of any size
    (``client_max_size=0``), so that the API server's own limit (:func:`check_request_body`) answers, with a
    ``Status``, rather than aiohttp's 1 MiB default."""
    return aiohttp.web.BaseRequest(message, payload, protocol, writer, task, asyncio.get_running_loop(),
                                   client_max_size=0)
