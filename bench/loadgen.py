"""A load generator in its own process: POSTs posts at a concurrency (or a rate), prints JSON.

python -m bench.loadgen --url URL --token T --seconds 10 --concurrency 32 [--batch 100]
                        [--rate 200] [--prefix run1]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp

# London, inside the wards' bounding box; mostly chatter, some emergencies.
TEXTS = ["this traffic is killing me", "lovely evening by the river", "fire playlist tonight",
         "anyone know why the road is closed?", "queue at the post office again",
         "car crash on the high street", "my son hasn't come home"]


def post(prefix: str, n: int, rng: random.Random) -> dict[str, Any]:
    return {"source": "bench", "external_id": f"{prefix}-{n}", "text": rng.choice(TEXTS),
            "posted_at": datetime.now(UTC).isoformat(),
            "location": {"lat": rng.uniform(51.40, 51.60), "lon": rng.uniform(-0.30, 0.10)}}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.prefix)
    counter = itertools.count()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    committed = 0
    deadline = time.monotonic() + args.seconds
    headers = {"Authorization": f"Bearer {args.token}", "Content-Type": "application/json"}
    path = "/v1/reports/batch" if args.batch else "/v1/reports"
    interval = args.concurrency / args.rate if args.rate else 0.0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal committed
        next_at = time.monotonic()
        while time.monotonic() < deadline:
            if args.batch:
                body: Any = [post(args.prefix, next(counter), rng) for _ in range(args.batch)]
            else:
                body = post(args.prefix, next(counter), rng)
            start = time.perf_counter()
            async with session.post(args.url + path, data=json.dumps(body),
                                    headers=headers) as r:
                await r.read()
                latencies.append(time.perf_counter() - start)
                statuses[r.status] = statuses.get(r.status, 0) + 1
                if 200 <= r.status < 300:
                    committed += args.batch or 1
            if interval:
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    connector = aiohttp.TCPConnector(limit=args.concurrency)
    began = time.monotonic()
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(args.concurrency)))
    elapsed = time.monotonic() - began
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return {"requests": len(latencies), "reports_2xx": committed, "seconds": elapsed,
            "rps": len(latencies) / elapsed, "reports_per_s": committed / elapsed,
            "p50_ms": pct(50), "p99_ms": pct(99), "statuses": statuses}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", default="")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch", type=int, default=0)
    parser.add_argument("--rate", type=float, default=0, help="requests a second in total")
    parser.add_argument("--prefix", default="load")
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
