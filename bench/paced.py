"""A load at a fixed rate: requests start on a clock, whether or not earlier ones were answered.

wrk keeps a fixed number of connections busy, so it measures how much a server can take and the
latency at that point, where requests queue. A site's question is another one: at the traffic it
gets, how long does a member wait? This client sends request i at start + i / rate (Zipf-drawn, as
bench_scale.load_zipf does) and counts each one's latency from that planned moment, so a slow answer
cannot delay the requests behind it out of the measure (wrk's "coordinated omission").
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Iterator
from urllib.parse import quote_plus, urlsplit

TIMEOUT_S = 10.0
MOST_OPEN = 512  # requests in flight at once; past it, a request waits, and its wait counts


def zipf_paths(queries: list[str], seed: int) -> Iterator[str]:
    """Search paths drawn without end, rank r of `queries` with weight 1/r."""
    weights = list(itertools.accumulate(1 / rank for rank in range(1, len(queries) + 1)))
    paths = [f"/search?q={quote_plus(q)}" for q in queries]
    draw = random.Random(seed)
    while True:
        yield draw.choices(paths, cum_weights=weights)[0]


async def fetch(host: str, port: int, path: str) -> tuple[int, bool]:
    """The answer's status and whether it came from a result cache (its Server-Timing header)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
    status = int(head.split(None, 2)[1]) if head.startswith("http/") else 0
    timing = next((line for line in head.split("\r\n") if line.startswith("server-timing:")), "")
    return status, "cache hit" in timing


async def paced(base: str, queries: list[str], rate: float, seconds: float, seed: int) -> dict[str, float]:
    where = urlsplit(base)
    host, port = where.hostname or "127.0.0.1", where.port or 80
    total = int(rate * seconds)
    latencies: list[float] = []
    failed = hits = 0
    slots = asyncio.Semaphore(MOST_OPEN)
    paths = zipf_paths(queries, seed)

    async def one(planned: float, path: str) -> None:
        nonlocal failed, hits
        async with slots:
            try:
                status, hit = await asyncio.wait_for(fetch(host, port, path), TIMEOUT_S)
            except (OSError, asyncio.TimeoutError, ValueError, IndexError):
                failed += 1
                return
        latencies.append(time.perf_counter() - planned)
        if status != 200:
            failed += 1
        hits += hit

    started = time.perf_counter()
    tasks = []
    for i in range(total):
        planned = started + i / rate
        await asyncio.sleep(max(0.0, planned - time.perf_counter()))
        tasks.append(asyncio.create_task(one(planned, next(paths))))
    await asyncio.gather(*tasks)
    duration = time.perf_counter() - started
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else float("nan")
    p50 = latencies[len(latencies) // 2] if latencies else float("nan")
    return {"rate": rate, "requests": total, "rps": len(latencies) / duration, "p50_ms": p50 * 1000,
            "p95_ms": p95 * 1000, "failed": failed, "cache_hit_rate": hits / len(latencies) if latencies else 0.0}


def load_paced(base: str, queries: list[str], rate: float, seconds: float, seed: int) -> dict[str, float]:
    """`rate` requests a second for `seconds`, Zipf-drawn from `queries` (a sequence of its own for each
    seed): latency p50/p95 from each request's planned start, failed answers (not 200, refused, or over
    10 s), cache hit rate."""
    return asyncio.run(paced(base, queries, rate, seconds, seed))
