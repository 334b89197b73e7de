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
from newswire.sketch import band_keys, compact, compact_similarity  # noqa: E402
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
    published: list[tuple[int, float]] = []  # (n, when checked) of each published original
    checked: list[tuple[int, float]] = []  # (n, when checked) of every article
    busy = 0.0
    for n in range(1, articles + 1):
        keys, article = work.article(n)
        if n % replicas != index:
            continue
        started = time.perf_counter()
        outcome = check(dedup, backend, store, keys, article, True)
        busy += time.perf_counter() - started
        outcomes[outcome] += 1
        checked.append((n, time.monotonic()))  # one clock for every process here
        if outcome == "original":
            published.append(checked[-1])
    backend.close()  # its lease on the check lock goes at once
    out.send((dict(outcomes), busy, published, checked))  # type: ignore[attr-defined]


def expected(articles: int) -> tuple[Counter[str], dict[int, int]]:
    """The day's mix (originals, near copies and URL repeats, as the workload draws them),
    and the family of each article (the n of its original)."""
    work = Workload(seed=7)
    kinds: Counter[str] = Counter()
    family = {}
    for n in range(1, articles + 1):
        work.article(n)
        kinds[work.kind] += 1
        family[n] = work.family
    return kinds, family


def sketches_of(wanted: set[int]) -> dict[int, bytes]:
    """The signatures of articles `wanted`, drawn again from the workload."""
    work = Workload(seed=7)
    found = {}
    for n in range(1, max(wanted, default=0) + 1):
        _, article = work.article(n)
        if n in wanted and article.sketch is not None:
            found[n] = article.sketch
    return found


def likeness(a: bytes, b: bytes) -> tuple[float, int]:
    """How alike two signatures are as the near layer sees them: the estimated similarity
    of their compact forms, and how many band keys they share (0: never candidates)."""
    shared = len(set(band_keys(a)) & set(band_keys(b)))
    return compact_similarity(compact(a), compact(b)), shared


def twice_published(
    published: list[tuple[int, float]], family: dict[int, int]
) -> list[tuple[int, list[int], bool]]:
    """The families published more than once: (family, its articles published in the order
    they were checked, whether a copy was checked before the family's own original)."""
    by_family: dict[int, list[tuple[float, int]]] = {}
    for n, when in published:
        by_family.setdefault(family[n], []).append((when, n))
    found = []
    for origin, members in sorted(by_family.items()):
        if len(members) > 1:
            order = [n for _, n in sorted(members)]
            found.append((origin, order, order[0] != origin))
    return found


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
    day, family = expected(args.articles)
    total: Counter[str] = Counter()
    need = PLAN_PEAK_PER_SECOND * SPEED / PLAN_LIVE_REPLICAS
    print(f"{args.articles} articles over {args.replicas} replicas sharing one redis-server")
    print(f"the day's mix: {dict(day)}")
    published: list[tuple[int, float]] = []
    checked_at: dict[int, float] = {}
    for index, (outcomes, busy, mine, times) in enumerate(results):
        published += mine
        checked_at.update(times)
        checked = sum(outcomes.values())
        total.update(outcomes)
        print(
            f"replica {index}: {checked} checks, {checked / busy:.0f}/s while checking "
            f"({checked / wall:.0f}/s of wall time); plan at 10x: {need:.0f}/s; {outcomes}"
        )
    print(f"all replicas: {sum(total.values()) / wall:.0f} checks/s over {wall:.0f} s")
    print(f"outcomes: {dict(total)}")
    print(f"originals published {total['original']} of {day['original']} families")
    twice = twice_published(published, family)
    early = sum(1 for _, _, copy_first in twice if copy_first)
    none = day["original"] - len({family[n] for n, _ in published})
    print(f"families with nothing published: {none}")
    print(
        f"families published more than once: {len(twice)}; of them, {early} with a copy "
        "published before the family's story (each listed with how alike its articles are)"
    )
    members = {n for origin, order, _ in twice for n in (origin, *order)}
    sketches = sketches_of(members)
    raced = 0
    for origin, order, copy_first in twice:
        # each article published after the first, against the ones published before it: a
        # pair the near layer would have caught (a band shared, over the threshold) means two
        # checks overlapped; any other pair is the layer's own answer
        pairs = []
        for at, n in enumerate(order[1:], start=1):
            for earlier in order[:at]:
                similarity, shared = likeness(sketches[n], sketches[earlier])
                raced += shared > 0 and similarity >= SETTINGS.near_threshold
                pairs.append(f"{n} vs {earlier}: {similarity:.2f}, {shared} bands shared")
        how = "the story first"
        if copy_first:  # the story between two copies: only the copy's indexed sketch links them
            after = checked_at[origin] > checked_at[order[1]]
            how = "a copy first, the story after both" if after else "a copy first, the story next"
        print(f"  family {origin} ({how}): published {order}; {'; '.join(pairs)}")
    print(f"published pairs the near layer would have caught (two checks at once): {raced}")
    print(f"redis-server RSS at the end: {memory / 2**20:.0f} MB")


if __name__ == "__main__":
    main()
