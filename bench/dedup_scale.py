"""The dedup stage at scale: N articles through claim, identity, title and near-duplicate
checks and the record, on a simulated clock (default 1,000,000 articles a day, the plan of
docs/scaling.md, so 2,000,000 articles are all in the 7-day window; `--per-day 10000` makes a
run span weeks, so the window fills, then slides), with the hourly pruning the service runs.
Prints, every 100,000 articles: checks per second (time in the stage: the checks, records and
pruning, not the making of the test articles), articles held, bytes per article held (SQLite:
the state file; Redis: redis-server's RSS), and the process's memory; with `--fill`, the
microseconds redis-server spent on each check too. At the end: how flat the rate is from
200,000 held on (the slowest and fastest level against the mean, and the trend per million held).

Sketches are MinHash signatures as the workers make them. For speed most are drawn at random
(a MinHash of an unrelated text is uniformly random); the near copies keep 60% of an
original's values (estimated similarity 0.6, like a syndicated copy), so the LSH and the
threshold check do real work. Baseline in the same run: the identity layer alone (claim,
known, record keys), to show what the title and near-duplicate layers cost.

    .venv/bin/python bench/dedup_scale.py [--articles 2000000] [--backend sqlite|redis]
        [--per-day 1000000]

`--backend redis` needs `redis-server` on PATH (started on a free loopback port). The log is
trimmed by the simulated clock (records carry it); keys' TTLs run in real time.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newswire.dedup.layers import (  # noqa: E402
    Deduplicator,
    as_published,
    indexed_sketch,
    title_key,
)
from newswire.dedup.redis_store import RedisDedupStore, connect  # noqa: E402
from newswire.dedup.store import DedupStore, LocalDedupStore  # noqa: E402
from newswire.models import Article, DedupRecord  # noqa: E402
from newswire.settings import DedupSettings  # noqa: E402
from newswire.sketch import PERMUTATIONS  # noqa: E402
from newswire.state import StateStore  # noqa: E402
from newswire.urls import article_id  # noqa: E402
from tests.builders import fixture_article  # noqa: E402
from tests.redis_support import RedisServer, redis_server_binary  # noqa: E402

REPORT_EVERY = 100_000
SAMPLE = 10_000  # full checks timed at each level of a --fill run (--sample)
FLAT_FROM = 200_000  # articles held from which the rate is to be flat
PRUNE_EVERY_S = 3600.0
NEAR_SHARE, REPEAT_SHARE = 0.10, 0.05
# keys are kept as long as sketches here (default 30d), so every window is reached in the run
SETTINGS = DedupSettings(keep_keys=7 * 86400.0)


class Clock:
    """The simulated wall clock newswire's dedup and state modules read."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def state_mb(path: Path) -> float:
    files = [path, path.with_name(path.name + "-wal")]
    return sum(f.stat().st_size for f in files if f.exists()) / 2**20


class Workload:
    """Articles in arrival order: originals, near copies of recent ones, URL repeats."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.np = np.random.default_rng(seed)
        self.recent: list[tuple[str, bytes, int]] = []  # (url, signature, n) of recent originals
        self.kind = ""  # of the last article: original, near (copy) or repeat (of a URL)
        self.family = 0  # the n of the original the last article is, copies or repeats
        self.origin = ""  # the URL of that original
        self.template = fixture_article(
            "shafaq-albukamal-strikes", "shafaq-news", "https://shafaq.com/en/x"
        )

    def signature(self, like: bytes | None = None) -> bytes:
        values = self.np.integers(0, 2**32, PERMUTATIONS, dtype="<u4")
        if like is not None:
            keep = self.np.random(PERMUTATIONS) < 0.6
            values[keep] = np.frombuffer(like, dtype="<u4")[keep]
        return values.tobytes()

    def article(self, n: int) -> tuple[tuple[str, ...], Article]:
        """(entry keys, article as extraction leaves it) of the n-th article."""
        draw = self.rng.random()
        if self.recent and draw < REPEAT_SHARE:
            self.kind = "repeat"
            url, sig, self.family = self.rng.choice(self.recent)
            self.origin = url
            return (f"url:{url}",), self.made(url, sig, f"Repeat {n}")
        url = f"https://outlet{n % 40}.test/news/{n}"
        like = self.rng.choice(self.recent) if self.recent and draw < NEAR_SHARE else None
        self.kind = "original" if like is None else "near"
        self.family = n if like is None else like[2]
        self.origin = url if like is None else like[0]
        sig = self.signature(like[1] if like is not None else None)
        if like is None:
            self.recent.append((url, sig, n))
            del self.recent[:-2000]
        title = f"Story {n} about {self.rng.choice(['Baghdad', 'Erbil', 'Deir ez-Zor'])} today"
        return (f"url:{url}", f"guid:outlet{n % 40}:{n}"), self.made(url, sig, title)

    def made(self, url: str, sig: bytes, title: str) -> Article:
        return replace(self.template, id=article_id(url), url=url, title=title, sketch=sig)


def run(
    articles: int,
    per_day: int,
    make: Callable[[StateStore, DedupSettings], DedupStore],
    full: bool,
) -> list[tuple[int, float, int, float, float]]:
    """Push `articles` through the stage; rows of (done, checks/s, articles held, bytes per
    article held, RSS MB)."""
    clock = Clock()
    time.time = clock  # type: ignore[assignment]  # dedup and state read time.time()
    settings = SETTINGS
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.sqlite3"
        store = StateStore(path)
        backend = make(store, settings)
        dedup = Deduplicator(backend, settings)
        work = Workload(seed=7)
        next_prune = clock.now + PRUNE_EVERY_S
        done, spent = 0, 0.0  # seconds in the stage (checks and pruning), not making articles
        for n in range(1, articles + 1):
            clock.now += 86400 / per_day
            keys, article = work.article(n)
            started = time.perf_counter()
            check(dedup, backend, store, keys, article, full)
            if clock.now >= next_prune:
                backend.prune(
                    clock.now - settings.window,
                    clock.now - settings.title_window,
                    clock.now - settings.keep_keys,
                )
                next_prune += PRUNE_EVERY_S
            spent += time.perf_counter() - started
            if n % REPORT_EVERY == 0 or n == articles:
                gc.collect()
                held = articles_held(store, backend)
                size = held_bytes(path, backend)
                rows.append((n, (n - done) / spent, held, size / max(held, 1), rss_mb()))
                print(f"  {'full' if full else 'identity'} {n}: {rows[-1][1]:.0f}/s", flush=True)
                done, spent = n, 0.0
        backend.close()
        store.close()
    return rows


def check(
    dedup: Deduplicator,
    backend: DedupStore,
    store: StateStore,
    keys: tuple[str, ...],
    article: Article,
    full: bool,
) -> str:
    """One article through the stage as the pipeline takes it: "known" (its URL or GUID is
    recorded or in flight at its claim, or recorded since, found by the check), "original" or
    "duplicate" (a title or near-duplicate match)."""
    if dedup.claim(keys) is not None:
        return "known"
    try:
        if not full:
            store.accept([], DedupRecord(article.url, keys, at=time.time()), backend.shared)
            backend.flush()
            return "original"
        tkey = title_key(article, 4)
        with dedup.exclusive():
            record = DedupRecord(article.id, keys, at=time.time())  # the simulated clock
            outcome = "duplicate"
            match = dedup.match(article, tkey, keys)
            if match is not None and match.recorded_link is not None:
                outcome = "known"  # its URL, recorded since its claim: the keys become aliases
                record = replace(record, article_id=match.recorded_link)
            elif match is not None and match.layer == "near":  # in its story's cluster
                copy = replace(article, cluster_id=match.cluster_id)
                record = replace(record, sketch=indexed_sketch(copy))
            elif match is None and article.sketch is not None:
                outcome = "original"
                record = replace(
                    record,
                    keys=(*keys, tkey) if tkey else keys,
                    sketch=(article.id, article.sketch),
                    published=as_published(article),
                )
            store.accept([], record, backend.shared)
            backend.flush()
            return outcome
    finally:
        dedup.release(keys)


def fill(
    backend: RedisDedupStore, work: Workload, first: int, last: int, clock: Clock, per_day: int
) -> None:
    """Record articles first..last as the checks would have (originals with their sketch and
    published version, near copies with their sketch in the story's cluster, URL repeats not
    at all), 500 to a pipeline: the quick way to a window of millions, whose checks are then
    timed."""
    pipe = backend._redis.pipeline(transaction=False)
    for n in range(first, last + 1):
        clock.now += 86400 / per_day
        keys, article = work.article(n)
        if work.kind == "repeat":
            continue
        record = DedupRecord(article.id, keys, at=clock.now)
        if work.kind == "near":  # in its story's cluster
            copy = replace(article, cluster_id=article_id(work.origin))
            record = replace(record, sketch=indexed_sketch(copy))
        elif work.kind == "original" and article.sketch is not None:
            tkey = title_key(article, 4)
            record = replace(
                record,
                keys=(*keys, tkey) if tkey else keys,
                sketch=(article.id, article.sketch),
                published=as_published(article),
            )
        backend._write(record, client=pipe)
        if len(pipe) >= 500:
            pipe.execute()
    pipe.execute()


def run_sampled(
    articles: int,
    per_day: int,
    make: Callable[[StateStore, DedupSettings], DedupStore],
    sample: int = SAMPLE,
) -> list[tuple[int, float, int, float, float]]:
    """Redis: fill the window in bulk to each level, then time `sample` full checks there
    (enough of them that the index's seals and merges they set off are counted, as they are
    in a run of checks one by one)."""
    clock = Clock()
    time.time = clock  # type: ignore[assignment]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.sqlite3"
        store = StateStore(path)
        backend = make(store, SETTINGS)
        assert isinstance(backend, RedisDedupStore)
        dedup = Deduplicator(backend, SETTINGS)
        work = Workload(seed=7)
        n = 0
        while n < articles:
            level = min(articles, n + REPORT_EVERY)
            fill(backend, work, n + 1, level - sample, clock, per_day)
            started = time.perf_counter()
            caught_rows = backend.catch_up()  # the replica's index takes what was filled
            # and merges it (in its merge thread): a replica indexing these rows one check at
            # a time spreads that work over them, not over the checks timed next
            backend._mirror.wait_for_merges()
            caught = time.perf_counter() - started
            spent = 0.0
            backend._redis.config_resetstat()
            for m in range(level - sample + 1, level + 1):
                clock.now += 86400 / per_day
                keys, article = work.article(m)
                started = time.perf_counter()
                check(dedup, backend, store, keys, article, True)
                spent += time.perf_counter() - started
            rate = sample / spent
            n = level
            held = articles_held(store, backend)
            rows.append((n, rate, held, held_bytes(path, backend) / max(held, 1), rss_mb()))
            server = redis_time_us(backend) / sample
            print(
                f"  sampled at {n}: {rate:.0f}/s, {rows[-1][3]:.0f} B/article, "
                f"{server:.0f} us of Redis time a check; the index took the "
                f"{caught_rows} rows filled in {caught:.2f} s",
                flush=True,
            )
        backend.close()
        store.close()
    return rows


def flatness(rows: list[tuple[int, float, int, float, float]]) -> str:
    """How flat the rate is from FLAT_FROM articles held on: the slowest and fastest level
    against the mean, and the least-squares trend of the rate, in % of the mean per million
    articles held (a level is one sample: the machine's own drift shows in min/max, a rate
    that falls as the window fills shows in the trend)."""
    held = np.array([r[2] for r in rows if r[2] >= FLAT_FROM], dtype=float)
    rates = np.array([r[1] for r in rows if r[2] >= FLAT_FROM], dtype=float)
    if len(held) < 3:
        return f"flatness: fewer than 3 levels from {FLAT_FROM:,} held"
    mean = float(rates.mean())
    slope = float(np.polyfit(held / 1e6, rates, 1)[0])
    return (
        f"flatness from {FLAT_FROM:,} held ({len(held)} levels): slowest {rates.min() / mean:.2f}"
        f" and fastest {rates.max() / mean:.2f} of the mean {mean:.0f}/s; trend "
        f"{100 * slope / mean:+.1f}% of the mean per million held"
    )


def redis_time_us(backend: RedisDedupStore) -> float:
    """Microseconds redis-server spent in the backend's scripts since its stats were reset
    (a check's commands are all scripts; the commands a script calls count inside it)."""
    stats = backend._redis.info("commandstats")
    return float(stats.get("cmdstat_evalsha", {}).get("usec", 0))


def articles_held(store: StateStore, backend: DedupStore) -> int:
    """Records the dedup memory holds now (every accepted article leaves one)."""
    if isinstance(backend, RedisDedupStore):
        client = backend._redis  # a bench reads the shared store's counters
        return int(client.get("{newswire}:seq") or 0)
    return int(store._db.execute("SELECT count(*) FROM dedup_records").fetchone()[0])


def held_bytes(path: Path, backend: DedupStore) -> int:
    """What holding them costs: redis-server's RSS, or the SQLite file (with its WAL)."""
    if isinstance(backend, RedisDedupStore):
        return int(backend._redis.info("memory")["used_memory_rss"])
    return int(state_mb(path) * 2**20)


@contextmanager
def backend_factory(kind: str) -> Iterator[Callable[[StateStore, DedupSettings], DedupStore]]:
    if kind == "sqlite":
        yield lambda store, _settings: LocalDedupStore(store)
        return
    binary = redis_server_binary()
    if binary is None:
        sys.exit("--backend redis needs redis-server on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(binary, Path(tmp)).start()
        url = server.url
        try:

            def shared(store: StateStore, settings: DedupSettings) -> DedupStore:
                client = connect(settings.model_copy(update={"redis_url": url}))
                client.flushall()  # each run starts empty, like the SQLite file
                return RedisDedupStore(client, store, settings)

            yield shared
            client = connect(DedupSettings(redis_url=url))
            memory = client.info("memory")["used_memory"] / 2**20
            print(f"redis at the end: {memory:.1f} MB used, {client.dbsize()} keys")
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2_000_000)
    parser.add_argument("--per-day", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "redis"], default="sqlite")
    parser.add_argument(
        "--fill",
        action="store_true",
        help="redis: record the window in bulk (pipelined) and time --sample full checks "
        "at each 100,000 (a full run of 2,000,000 checks one by one takes hours there)",
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=SAMPLE,
        help=f"with --fill: full checks timed at each level (default {SAMPLE:,})",
    )
    args = parser.parse_args()
    real_time = time.time
    with backend_factory(args.backend) as make:  # its own server: RSS never shrinks
        baseline = run(min(args.articles, 100_000), args.per_day, make, full=False)
        time.time = real_time
    with backend_factory(args.backend) as make:
        if args.fill:
            rows = run_sampled(args.articles, args.per_day, make, args.sample)
        else:
            rows = run(args.articles, args.per_day, make, full=True)
        time.time = real_time
    base_rate = sum(r[1] for r in baseline) / len(baseline)
    print(
        f"backend {args.backend}; {args.per_day}/day simulated; window and keep_keys 7d, "
        "title_window 2d; bytes per article held: "
        + ("redis-server RSS" if args.backend == "redis" else "state file and WAL")
    )
    print(f"{'articles':>9} {'day':>5} {'checks/s':>9} {'held':>9} {'B/article':>9} {'RSS MB':>7}")
    for done, rate, held, per_article, rss in rows:
        day = done / args.per_day
        print(f"{done:>9} {day:>5.1f} {rate:>9.0f} {held:>9} {per_article:>9.0f} {rss:>7.1f}")
    full_rate = sum(r[1] for r in rows) / len(rows)
    print(f"mean checks/s, all layers: {full_rate:.0f}")
    print(f"mean checks/s, identity layer only (baseline, first 100k): {base_rate:.0f}")
    print(f"all layers / identity only: {full_rate / base_rate:.2f}")
    if args.fill:
        print(f"checks/s: {args.sample} full checks timed at each level; the rest in bulk")
    print(flatness(rows))
    print(f"peak RSS: {peak_mb():.1f} MB")


if __name__ == "__main__":
    main()
