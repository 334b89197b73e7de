"""Outlet boilerplate learning: counts in the state store, the threshold, the window."""

from __future__ import annotations

from pathlib import Path

from newswire.learning import OutletLearning
from newswire.settings import ExtractSettings
from newswire.state import StateStore

DAY = 86400.0


def test_a_line_is_learned_after_it_recurs_in_enough_articles_within_the_window(
    tmp_path: Path,
) -> None:
    now = [1_000_000.0]
    store = StateStore(tmp_path / "s.db")
    learning = OutletLearning(store, ExtractSettings(learn_after=3), clock=lambda: now[0])
    for n in range(3):
        assert learning.learned("desk").last == frozenset()
        learning.note("desk", (("first", f"Story {n} begins."), ("last", "Tip us off.")))
    learned = learning.learned("desk")
    assert learned.last == {"Tip us off."} and learned.first == frozenset()
    assert not learning.learned("other-outlet")  # per outlet
    again = OutletLearning(store, ExtractSettings(learn_after=3), clock=lambda: now[0])
    assert again.learned("desk").last == {"Tip us off."}  # kept in the store: a restart knows
    now[0] += 31 * DAY  # not seen within extract.learn_window (30 days): no longer learned
    assert not OutletLearning(store, ExtractSettings(learn_after=3), clock=lambda: now[0]).learned(
        "desk"
    )
    assert not OutletLearning(store, ExtractSettings(learn_after=0)).learned("desk")


def test_edges_seen_once_are_forgotten_after_a_day(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.db")
    store.note_edges("desk", [("first", "Story one."), ("last", "Tip us off.")], 0.0)
    store.note_edges("desk", [("last", "Tip us off.")], 10.0)
    assert store.forget_edges(before=-1.0, singles_before=DAY) == 1  # "Story one." only
    assert store.learned_edges("desk", 2, 0.0) == [("last", "Tip us off.")]
