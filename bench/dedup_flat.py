"""Is a Redis dedup check as fast with the window nearly full as with it nearly empty? Two
stores side by side in one process, each on a redis-server of its own: one filled to --low
articles held, one to --high (in bulk, as `dedup_scale.py --fill` fills them, the replica's
index reading each 100,000). Then batches of full checks are timed on each in turn, in ABBA
order, so both rates are taken in the same minutes and the machine's own drift (10-15%
between minutes here, more than the effect measured) falls out of their ratio.

Prints each round's two rates and their ratio, then the ratio over all rounds (high / low:
1.00 is a rate that does not fall as the window fills). With --profile, also the functions
whose time a check grew most between the two (cProfile on the timed checks; it slows both
alike).

    .venv/bin/python bench/dedup_flat.py [--low 200000] [--high 2000000] [--rounds 20]
        [--batch 2000] [--profile]

Needs `redis-server` on PATH (each server on a free loopback port).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dedup_scale import (
    REPORT_EVERY,
    SETTINGS,
    Clock,
    Workload,
    backend_factory,
    check,
    fill,
)

from newswire.dedup.layers import Deduplicator
from newswire.dedup.redis_store import RedisDedupStore
from newswire.dedup.store import DedupStore
from newswire.settings import DedupSettings
from newswire.state import StateStore

PER_DAY = 1_000_000  # the plan of docs/scaling.md: every article in the 7-day window


@dataclass
class Side:
    """One store at its level, and what its timed checks took."""

    name: str
    store: StateStore
    backend: RedisDedupStore
    dedup: Deduplicator
    work: Workload
    clock: Clock
    done: int  # articles through it so far
    spent: float = 0.0
    checks: int = 0
    profile: cProfile.Profile = field(default_factory=cProfile.Profile)

    def timed(self, batch: int, profiling: bool) -> float:
        """Checks/s of `batch` full checks of its next articles."""
        time.time = self.clock  # dedup reads time.time()
        spent = 0.0
        for _ in range(batch):
            self.done += 1
            self.clock.now += 86400 / PER_DAY
            keys, article = self.work.article(self.done)
            started = time.perf_counter()
            if profiling:
                self.profile.enable()
            check(self.dedup, self.backend, self.store, keys, article, True)
            if profiling:
                self.profile.disable()
            spent += time.perf_counter() - started
        self.backend._mirror.wait_for_merges()  # after its time: the next side starts quiet
        self.spent += spent
        self.checks += batch
        return batch / spent


def filled(
    name: str, articles: int, make: Callable[[StateStore, DedupSettings], DedupStore], folder: Path
) -> Side:
    """A store holding `articles` (recorded in bulk), its replica's index caught up."""
    clock = Clock()
    time.time = clock
    store = StateStore(folder / f"{name}.sqlite3")
    backend = make(store, SETTINGS)
    assert isinstance(backend, RedisDedupStore)
    work = Workload(seed=7)
    for first in range(1, articles + 1, REPORT_EVERY):
        fill(backend, work, first, min(articles, first + REPORT_EVERY - 1), clock, PER_DAY)
        backend.catch_up()
    backend._mirror.wait_for_merges()
    side = Side(name, store, backend, Deduplicator(backend, SETTINGS), work, clock, articles)
    print(f"  {name}: {articles} articles recorded", flush=True)
    return side


def grown(low: Side, high: Side, top: int = 12) -> list[str]:
    """The functions whose time a check grew most from `low` to `high` (us a check)."""

    def per_check(side: Side) -> dict[str, float]:
        stats = pstats.Stats(side.profile).stats  # type: ignore[attr-defined]
        return {
            f"{Path(file).name}:{line}({func})": spent[2] / side.checks * 1e6
            for (file, line, func), spent in stats.items()
        }

    before, after = per_check(low), per_check(high)
    names = sorted(before.keys() | after.keys(), key=lambda n: after.get(n, 0) - before.get(n, 0))
    lines = [f"{'us a check (own time)':>44} {'low':>7} {'high':>7} {'grew':>7}"]
    for name in reversed(names[-top:]):
        was, now = before.get(name, 0.0), after.get(name, 0.0)
        lines.append(f"{name[-44:]:>44} {was:>7.1f} {now:>7.1f} {now - was:>+7.1f}")
    total = sum(after.values()) - sum(before.values())
    lines.append(f"{'all functions':>44} {sum(before.values()):>7.1f} {sum(after.values()):>7.1f}")
    lines.append(f"{'':>44} {'':>7} {'':>7} {total:>+7.1f}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--low", type=int, default=200_000)
    parser.add_argument("--high", type=int, default=2_000_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    real_time = time.time
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        low = filled("low", args.low, stack.enter_context(backend_factory("redis")), folder)
        high = filled("high", args.high, stack.enter_context(backend_factory("redis")), folder)
        ratios = []
        print(f"{'round':>5} {'low/s':>7} {'high/s':>7} {'high/low':>8}")
        for number in range(args.rounds):
            order = (low, high) if number % 2 == 0 else (high, low)
            rates = {side.name: side.timed(args.batch, args.profile) for side in order}
            ratios.append(rates["high"] / rates["low"])
            print(f"{number:>5} {rates['low']:>7.0f} {rates['high']:>7.0f} {ratios[-1]:>8.2f}")
        low_rate, high_rate = low.checks / low.spent, high.checks / high.spent
        print(
            f"checks/s at {args.low:,} recorded: {low_rate:.0f}; at {args.high:,}: "
            f"{high_rate:.0f}; high/low {high_rate / low_rate:.3f} over all rounds, median of "
            f"rounds {statistics.median(ratios):.3f} ({min(ratios):.2f} to {max(ratios):.2f})"
        )
        if args.profile:
            print(*grown(low, high), sep="\n")
        for side in (low, high):
            side.backend.close()
            side.store.close()
        time.time = real_time


if __name__ == "__main__":
    main()
