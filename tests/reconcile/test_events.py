"""The Event recorder, in-process against the in-memory cluster with a fake clock: decisions at once, writes
in the background one at a time (as client-go's broadcaster), series, the per-object burst and the backlog."""

from __future__ import annotations

import asyncio

from shipway.adapters.kube.events import EVENT_V1, EventRecorder, Regarding

from .memory import MemoryCluster

PIPELINE = Regarding(api_version="shipway.dev/v1alpha1", kind="Pipeline", name="shop", uid="uid-shop")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def events(cluster: MemoryCluster) -> list[dict[str, object]]:
    return [body for (plural, _ns, _name), body in cluster.objects.items() if plural == EVENT_V1.plural]


async def test_recording_does_not_wait_for_the_write_and_the_sender_writes_in_order() -> None:
    cluster, clock = MemoryCluster(), Clock()
    recorder = EventRecorder(client=cluster, instance="op-1", clock=clock)
    recorder.record(PIPELINE, reason="Delivered", note="stage: delivered", action="Deliver")
    clock.now += 1
    recorder.record(PIPELINE, reason="Ready", note="every phase is ready", action="Reconcile")
    assert events(cluster) == [] and recorder.pending == 2  # nothing written by record() itself
    sender = asyncio.create_task(recorder.run())
    try:
        assert await recorder.drain(timeout=5)
    finally:
        sender.cancel()
    written = events(cluster)
    assert [e["reason"] for e in written] == ["Delivered", "Ready"] and recorder.writes == 2
    assert all(e["regarding"] == PIPELINE.as_k8s() and e["metadata"]["namespace"] == "default"  # type: ignore[index]
               for e in written)


async def test_a_repeat_patches_the_series_and_a_burst_is_capped() -> None:
    cluster, clock = MemoryCluster(), Clock()
    recorder = EventRecorder(client=cluster, instance="op-1", clock=clock, per_object_burst=3)
    sender = asyncio.create_task(recorder.run())
    try:
        recorder.record(PIPELINE, reason="Rotated", note="stage: rotated", action="Deliver")
        clock.now += 40  # past min_patch_gap: the same Event's series is patched, no new Event
        recorder.record(PIPELINE, reason="Rotated", note="stage: rotated", action="Deliver")
        for index in range(5):  # 3 new Events a minute at most for one object
            recorder.record(PIPELINE, reason="Rotated", note=f"phase-{index}: rotated", action="Deliver")
        assert await recorder.drain(timeout=5)
    finally:
        sender.cancel()
    written = events(cluster)
    assert len(written) == 3
    first = next(e for e in written if e["note"] == "stage: rotated")
    assert first["series"]["count"] == 2  # type: ignore[index]  (patched onto the first Event)
    assert recorder.writes == 4  # 3 creates and 1 series patch


async def test_beyond_the_backlog_new_events_are_dropped_not_queued() -> None:
    cluster, clock = MemoryCluster(), Clock()
    recorder = EventRecorder(client=cluster, instance="op-1", clock=clock, backlog=2)
    for index in range(4):
        recorder.record(Regarding(api_version="v", kind="Pipeline", name=f"p{index}", uid=f"u{index}"),
                        reason="Ready", note="ready", action="Reconcile")
    assert recorder.pending == 2 and recorder.dropped == 2
    sender = asyncio.create_task(recorder.run())
    try:
        assert await recorder.drain(timeout=5)
    finally:
        sender.cancel()
    assert sorted(e["regarding"]["name"] for e in events(cluster)) == ["p0", "p1"]  # type: ignore[index]


async def test_events_wait_for_the_deliveries_at_most_max_delay_or_until_half_the_backlog() -> None:
    """The sender waits for ``quiet`` (nothing to reconcile) before a batch: never longer than ``max_delay``,
    and not at all once half the backlog is waiting."""
    cluster, clock = MemoryCluster(), Clock()
    quiet = asyncio.Event()
    recorder = EventRecorder(client=cluster, instance="op-1", clock=clock, quiet=quiet.wait, max_delay=0.3,
                             backlog=8)
    sender = asyncio.create_task(recorder.run())
    try:
        recorder.record(PIPELINE, reason="Ready", note="ready", action="Reconcile")
        await asyncio.sleep(0.1)
        assert events(cluster) == []  # busy: held back
        quiet.set()
        await asyncio.sleep(0.05)
        assert len(events(cluster)) == 1  # quiet: sent at once
        quiet.clear()
        recorder.record(PIPELINE, reason="Delivered", note="stage", action="Deliver")
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await recorder.drain(timeout=5)
        assert loop.time() - started >= 0.25 and len(events(cluster)) == 2  # never quiet: sent after max_delay
        for index in range(4):  # half the backlog waiting: no holding back
            recorder.record(Regarding(api_version="v", kind="Pipeline", name=f"p{index}", uid=f"u{index}"),
                            reason="Ready", note="ready", action="Reconcile")
        started = loop.time()
        assert await recorder.drain(timeout=5)
        assert loop.time() - started < 0.25 and len(events(cluster)) == 6
    finally:
        sender.cancel()


async def test_behind_the_sender_catches_up_with_several_writes_at_once() -> None:
    """Once half the backlog waits, the queued Events go out ``catch_up`` at a time (none dropped while the
    backlog holds them)."""
    in_flight, most = 0, 0

    class Slow(MemoryCluster):
        async def create(self, kind, obj):  # type: ignore[no-untyped-def]
            nonlocal in_flight, most
            in_flight += 1
            most = max(most, in_flight)
            await asyncio.sleep(0.01)
            in_flight -= 1
            return await super().create(kind, obj)

    cluster, clock = Slow(), Clock()
    recorder = EventRecorder(client=cluster, instance="op-1", clock=clock, backlog=20, catch_up=4,
                             quiet=asyncio.Event().wait, max_delay=5.0)
    for index in range(12):
        recorder.record(Regarding(api_version="v", kind="Pipeline", name=f"p{index}", uid=f"u{index}"),
                        reason="Ready", note="ready", action="Reconcile")
    sender = asyncio.create_task(recorder.run())
    try:
        assert await recorder.drain(timeout=3)  # behind: no waiting for quiet (max_delay is 5 s)
    finally:
        sender.cancel()
    assert len(events(cluster)) == 12 and recorder.dropped == 0 and most == 4
