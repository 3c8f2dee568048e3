from __future__ import annotations

import asyncio

import pytest

from runwatch.bus.edge import Edge, EdgeClosed
from runwatch.bus.memory import MemoryBus


async def test_offer_drops_and_counts_when_full() -> None:
    edge: Edge[int] = Edge("test", capacity=3)
    taken = [edge.offer(i) for i in range(5)]
    assert taken == [True, True, True, False, False]
    assert edge.dropped == 2
    assert await edge.get_batch(10) == [0, 1, 2]


async def test_offer_many_takes_what_fits() -> None:
    edge: Edge[int] = Edge("test", capacity=4)
    assert edge.offer_many(range(6)) == 4
    assert edge.dropped == 2 and edge.depth == 4


async def test_put_waits_for_room_instead_of_dropping() -> None:
    edge: Edge[int] = Edge("test", capacity=2)
    producer = asyncio.create_task(edge.put_many(range(5)))
    received: list[int] = []
    while len(received) < 5:
        batch = await edge.get_batch(1)
        assert batch is not None
        received.extend(batch)
    await producer
    assert received == [0, 1, 2, 3, 4]
    assert edge.dropped == 0 and edge.waited > 0


async def test_close_drains_then_returns_none() -> None:
    edge: Edge[int] = Edge("test", capacity=10)
    edge.offer_many([1, 2, 3])
    edge.close()
    assert await edge.get_batch(2) == [1, 2]
    assert await edge.get_batch(2) == [3]
    assert await edge.get_batch(2) is None
    with pytest.raises(EdgeClosed):
        edge.offer(4)


async def test_close_wakes_a_waiting_consumer() -> None:
    edge: Edge[int] = Edge("test", capacity=10)
    consumer = asyncio.create_task(edge.get_batch(5))
    await asyncio.sleep(0)
    edge.close()
    assert await asyncio.wait_for(consumer, 1) is None


async def test_bus_waits_on_wait_edges_and_drops_on_drop_edges() -> None:
    bus = MemoryBus()
    careful = bus.subscribe("detect", 100, "wait")
    lossy = bus.subscribe("store", 2, "drop")
    await bus.publish([{"evt.type": "open"}, {"evt.type": "execve"}, {"evt.type": "connect"}])
    assert careful.depth == 3
    assert lossy.depth == 2 and lossy.dropped == 1
    bus.close()
    assert careful.is_closed and lossy.is_closed
