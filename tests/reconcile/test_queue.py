"""The work queue: deduplication, and turns for the event loop's other tasks between reconciles."""

from __future__ import annotations

import asyncio

from shipway.reconcile.queue import Outcome, WorkQueue


async def test_reconciles_that_never_suspend_still_leave_turns_to_other_tasks() -> None:
    """A full pass over converged pipelines makes no request (no await suspends): the queue itself must
    give the event loop back between keys, or a Lease renewal would wait for the whole pass."""
    done: list[str] = []
    turns_during_pass: list[int] = []
    keys = [f"p{i:04d}" for i in range(2000)]

    async def reconcile(key: str) -> Outcome:
        done.append(key)
        return Outcome()

    queue = WorkQueue(handler=reconcile, workers=4)
    for key in keys:
        queue.add(key)

    async def ticker() -> None:
        while True:
            if 0 < len(done) < len(keys):
                turns_during_pass.append(len(done))
            await asyncio.sleep(0)

    ticking = asyncio.create_task(ticker())
    running = asyncio.create_task(queue.run())
    try:
        await asyncio.wait_for(queue.wait_idle(), 30)
    finally:
        running.cancel()
        ticking.cancel()
        await asyncio.gather(running, ticking, return_exceptions=True)
    assert sorted(done) == keys  # each key once
    assert len(turns_during_pass) >= len(keys) // 4 - 1  # a turn for others after every round of the 4 workers


async def test_a_key_added_while_it_runs_runs_once_more_and_queued_keys_are_not_doubled() -> None:
    runs: list[str] = []
    release = asyncio.Event()
    queue: WorkQueue

    async def reconcile(key: str) -> Outcome:
        runs.append(key)
        if len(runs) == 1:
            queue.add("a")  # while "a" runs: once more after
            queue.add("b")
            queue.add("b")  # already queued: no-op
            await release.wait()
        return Outcome()

    queue = WorkQueue(handler=reconcile, workers=1)
    queue.add("a")
    running = asyncio.create_task(queue.run())
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.wait_for(queue.wait_idle(), 5)
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    assert runs == ["a", "b", "a"]


async def test_quiet_means_nothing_waiting_or_running_though_a_key_waits_out_a_delay() -> None:
    release = asyncio.Event()

    async def reconcile(key: str) -> Outcome:
        await release.wait()
        return Outcome(requeue_after=60.0)  # comes back in a minute: not idle, but quiet

    queue = WorkQueue(handler=reconcile, workers=1)
    queue.add("a")
    running = asyncio.create_task(queue.run())
    try:
        await asyncio.sleep(0.01)
        quiet = asyncio.create_task(queue.wait_quiet())
        await asyncio.sleep(0.01)
        assert not quiet.done()  # "a" is being reconciled
        release.set()
        await asyncio.wait_for(quiet, 5)
        assert queue.delayed == 1
        idle = asyncio.create_task(queue.wait_idle())
        await asyncio.sleep(0.01)
        assert not idle.done()
        idle.cancel()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
