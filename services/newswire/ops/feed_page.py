"""The /feeds page: the `newswire feeds` table for people, in a browser. Failing feeds first,
in red; feeds never polled successfully in amber; a click on a column heading sorts by it.
Everything shown is escaped: feed ids, URLs and reasons come from files and the network."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from newswire.models import FeedState
from newswire.ops.feed_table import COLUMNS, feed_rows, in_order, status

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d1d1f; }
table { border-collapse: collapse; }
th, td { padding: 4px 10px; border-bottom: 1px solid #d0d0d7; text-align: left; }
th { background: #2b4a6f; color: #fff; cursor: pointer; }
tr.failing td { background: #f8d0cc; }
tr.never td { background: #fbe7b5; }
tr.ok td { background: #dff2df; }
"""
SORT = """
document.querySelectorAll("th").forEach((th, column) => th.addEventListener("click", () => {
  const body = th.closest("table").tBodies[0];
  const up = th.dataset.up !== "1"; th.dataset.up = up ? "1" : "0";
  const key = (row) => row.cells[column].dataset.sort ?? row.cells[column].textContent;
  const rows = [...body.rows].sort((a, b) =>
    key(a).localeCompare(key(b), undefined, {numeric: true}) * (up ? 1 : -1));
  rows.forEach((row) => body.appendChild(row));
}));
"""


def feeds_html(states: Sequence[FeedState], now: float) -> str:
    """The whole page."""
    ordered = in_order(states)
    failing = sum(1 for state in ordered if status(state) == "failing")
    head = "".join(f"<th>{escape(name)}</th>" for name in ("status", *COLUMNS))
    rows = feed_rows(ordered, now)
    body = "".join(_row(state, cells) for state, cells in zip(ordered, rows, strict=True))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>newswire feeds</title><style>{STYLE}</style></head><body>"
        f"<h1>newswire feeds</h1><p>{len(ordered)} feeds, {failing} failing.</p>"
        f'<table id="feeds"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        f"<script>{SORT}</script></body></html>"
    )


def _row(state: FeedState, cells: tuple[str, ...]) -> str:
    kind = status(state)
    # sort keys where the shown text does not sort: times as seconds, counts as numbers
    keys = (
        None,
        str(state.last_success or 0),
        str(state.last_error or 0),
        None,
        f"{state.consecutive_errors:09d}",
        f"{state.interval_s:012.1f}",
        f"{state.next_poll:015.1f}",
        f"{state.items_seen:09d}",
    )
    tds = "".join(
        f"<td{_sort_key(key)}>{escape(cell)}</td>" for cell, key in zip(cells, keys, strict=True)
    )
    return f'<tr class="{kind}"><td>{kind}</td>{tds}</tr>'


def _sort_key(key: str | None) -> str:
    return "" if key is None else f' data-sort="{escape(key)}"'
