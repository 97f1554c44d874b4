"""The Kubernetes client's bound on requests in flight (the operator's, as client-go's rate limiter bounds a
controller), over real HTTP to a threaded server that counts how many requests it holds at once."""

from __future__ import annotations

import asyncio
import json
import pathlib
import threading
import time

import pytest

from shipway.adapters.kube import resources
from shipway.adapters.kube.client import KubeClient
from shipway_sandbox.emulator import kubeconfig
from tests.support.hostile import Answer, ScriptedServer, SeenRequest

pytestmark = pytest.mark.integration


class Counting:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.most = 0

    def __call__(self, seen: SeenRequest, server: ScriptedServer) -> Answer:
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
        time.sleep(0.05)
        with self.lock:
            self.active -= 1
        name = seen.path.rsplit("/", 1)[-1]
        body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "ns",
                                                                  "resourceVersion": "1"}}
        return Answer(200, [("Content-Type", "application/json")], json.dumps(body).encode())


@pytest.mark.parametrize("bound", [3, None])
async def test_at_most_the_bound_of_requests_are_in_flight(tmp_path: pathlib.Path, bound: int | None) -> None:
    counting = Counting()
    with ScriptedServer(counting) as server:
        config = kubeconfig.write(tmp_path / "kubeconfig", server.url)
        client = KubeClient(kubeconfig=config, user_agent="test", field_manager="test", max_in_flight=bound)
        try:
            found = await asyncio.gather(*(client.get(resources.SECRET, f"s{i}", namespace="ns") for i in range(12)))
        finally:
            await client.close()
    assert [f["metadata"]["name"] for f in found] == [f"s{i}" for i in range(12)]
    if bound is not None:
        assert counting.most == bound  # reached, never passed
    else:
        assert counting.most > 3  # without a bound the same requests overlap more
