"""A day's load of the plan in docs/scaling.md through the dedup stage of 3 replicas sharing
one Redis: every replica a separate process with its own state store (outbox journal) and
Redis client, all on 127.0.0.1.

The day is bench/dedup_scale.py's article mix (originals; near copies of recent originals,
60% of the signature kept; URL repeats), `--articles` of it (default 1,000,000: a day of the
plan), dealt round-robin to the replicas, so a story and its copies meet on different
replicas. Each replica generates the whole sequence (the same seed) and checks its share as
fast as it can, on the real clock; what it shows is the rate each replica holds against the
plan's (the peak of 35 articles/s over the 3 replicas left when one of 4 is down, at 10x: 117
checks/s), and that sharing loses nothing: every family of an original and its copies comes
out as exactly one original.

    .venv/bin/python bench/dedup_replay.py [--articles 1000000] [--replicas 3]

Needs `redis-server` on PATH. Extraction is not replayed: at 50 articles/s per replica
(docs/performance.md) it is the plan's bound, measured by bench/throughput.py.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dedup_scale import SETTINGS, Workload, check  # noqa: E402

from newswire.dedup.layers import Deduplicator  # noqa: E402
from newswire.dedup.redis_store import RedisDedupStore, connect  # noqa: E402
from newswire.state import StateStore  # noqa: E402
from tests.redis_support import RedisServer, redis_server_binary  # noqa: E402

PLAN_PEAK_PER_SECOND = 35.0  # docs/scaling.md: 1M articles a day, peak 3x the average
PLAN_LIVE_REPLICAS = 3  # 4 in the plan, one of them down
SPEED = 10


def replica(index: int, replicas: int, articles: int, url: str, workdir: str, out: object) -> None:
    """Check this replica's share of the day; report (outcomes, seconds) on `out`."""
    settings = SETTINGS.model_copy(update={"backend": "redis", "redis_url": url})
    store = StateStore(Path(workdir) / f"replica-{index}.sqlite3")
    backend = RedisDedupStore(connect(settings), store, settings)
    dedup = Deduplicator(backend, settings)
    work = Workload(seed=7)
    outcomes: Counter[str] = Counter()
    busy = 0.0
    for n in range(1, articles + 1):
        keys, article = work.article(n)
        if n % replicas != index:
            continue
        started = time.perf_counter()
        outcomes[check(dedup, backend, store, keys, article, True)] += 1
        busy += time.perf_counter() - started
    out.send((dict(outcomes), busy))  # type: ignore[attr-defined]


def expected(articles: int) -> Counter[str]:
    """The day's mix: originals, near copies and URL repeats, as the workload draws them."""
    work = Workload(seed=7)
    kinds: Counter[str] = Counter()
    for n in range(1, articles + 1):
        work.article(n)
        kinds[work.kind] += 1
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--replicas", type=int, default=3)
    args = parser.parse_args()
    binary = redis_server_binary()
    if binary is None:
        sys.exit("needs redis-server on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(binary, Path(tmp)).start()
        try:
            started = time.perf_counter()
            pipes, processes = [], []
            for index in range(args.replicas):
                mine, theirs = multiprocessing.Pipe()
                process = multiprocessing.Process(
                    target=replica,
                    args=(index, args.replicas, args.articles, server.url, tmp, theirs),
                )
                process.start()
                pipes.append(mine)
                processes.append(process)
            results = [pipe.recv() for pipe in pipes]
            for process in processes:
                process.join()
            wall = time.perf_counter() - started
            client = connect(SETTINGS.model_copy(update={"redis_url": server.url}))
            memory = client.info("memory")["used_memory_rss"]
        finally:
            server.stop()
    day = expected(args.articles)
    total: Counter[str] = Counter()
    need = PLAN_PEAK_PER_SECOND * SPEED / PLAN_LIVE_REPLICAS
    print(f"{args.articles} articles over {args.replicas} replicas sharing one redis-server")
    print(f"the day's mix: {dict(day)}")
    for index, (outcomes, busy) in enumerate(results):
        checked = sum(outcomes.values())
        total.update(outcomes)
        print(
            f"replica {index}: {checked} checks, {checked / busy:.0f}/s while checking "
            f"({checked / wall:.0f}/s of wall time); plan at 10x: {need:.0f}/s; {outcomes}"
        )
    print(f"all replicas: {sum(total.values()) / wall:.0f} checks/s over {wall:.0f} s")
    print(f"outcomes: {dict(total)}")
    print(f"originals published {total['original']} of {day['original']} families")
    print(f"redis-server RSS at the end: {memory / 2**20:.0f} MB")


if __name__ == "__main__":
    main()
