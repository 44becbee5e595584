"""An async generator left suspended (an SSE stream whose task was cancelled between two events)
is closed on its own loop, where its ``finally`` may await — not later by the garbage collector."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncGenerator

import pytest

pytestmark = pytest.mark.asyncio


async def test_a_cancelled_consumer_leaves_no_generator_to_the_garbage_collector() -> None:
    closed: list[str] = []

    async def inner() -> AsyncGenerator[int, None]:
        try:
            for i in range(100):
                yield i
        finally:
            await asyncio.sleep(0)  # an await in cleanup, as httpcore's stream has
            closed.append("inner")

    async def outer() -> AsyncGenerator[int, None]:
        async for value in inner():  # the nested generator nobody closes explicitly
            yield value

    async def consume() -> None:
        async for _ in outer():
            await asyncio.sleep(10)

    task = asyncio.ensure_future(consume())
    await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    gc.collect()  # the suspended ``inner`` is finalized: through the loop's hook, it is closed there
    for _ in range(20):
        if closed:
            break
        await asyncio.sleep(0.01)
    assert closed == ["inner"]
