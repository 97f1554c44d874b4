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
