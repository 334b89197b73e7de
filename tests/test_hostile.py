"""Hostile feeds and pages against a running `newswire run`, each next to a healthy feed: the
healthy feed's articles all arrive, the service stays up and stops with 0, and no process of it
grows past a bound. The service runs with `errors.contain: false`, so a bug that any of these
inputs meets stops it and fails the test instead of being contained."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from newswire.extract.lead import MAX_REPAIRS
from newswire.publish.broker import EmbeddedBroker, free_port
from tests.kafka_support import read_messages, unique_prefix
from tests.service_support import run_command, running_service, service_config
from tests.site import DATA, FixtureSite, Resource
from tests.stories import story_html
from tests.test_faults import outcomes, rss_mb
from tests.test_service import child_pids, wait_for

pytestmark = pytest.mark.integration
RSS = "application/rss+xml"
HEALTHY = [100, 101, 102, 103]
RSS_BOUND_MB = 500  # each process, with the default 10 MB body cap


def rss_item(title: str, link: str, extra: str = "", description: str = "") -> str:
    summary = description or f"The feed's own summary of {title}, long enough to stand alone."
    return (
        f"<item><title>{title}</title><link>{link}</link>"
        f"<description>{summary}</description>{extra}</item>"
    )


def rss(items: list[str]) -> bytes:
    body = "".join(items)
    return f'<rss version="2.0"><channel><title>t</title>{body}</channel></rss>'.encode()


def add_story(site: FixtureSite, index: int) -> str:
    return site.add(f"/story/{index}", Resource(story_html(index)))


@dataclass
class Run:
    """What a run beside the healthy feed saw."""

    port: int
    articles: list[dict[str, Any]]
    dead_letters: list[dict[str, Any]]
    outcomes: dict[tuple[str, str], float]
    metrics: str
    peak_rss_mb: dict[str, float] = field(default_factory=dict)

    def article(self, path: str) -> dict[str, Any]:
        found = [a for a in self.articles if a["source_url"].endswith(path)]
        assert found, f"no article for {path}: {[a['source_url'] for a in self.articles]}"
        return found[0]


def beside_healthy(
    site: FixtureSite,
    bootstrap: str,
    tmp_path: Path,
    hostile_feeds: dict[str, str],
    until: Callable[[Run], bool] = lambda run: True,
    **sections: dict[str, Any],
) -> Run:
    """Run the service on the healthy feed and `hostile_feeds` (id -> url) until every
    healthy story is published, every hostile feed was polled and `until` holds. Every
    process stays under RSS_BOUND_MB, a worker under a larger `extract.memory_limit_mb` when
    the test sets one (a time-limit test lifts it so the clock, not memory, cuts the page
    off: how far the page gets in its seconds, and so its memory, depends on the machine)."""
    healthy = rss([rss_item(f"Healthy {i}", add_story(site, i)) for i in HEALTHY])
    feeds = [{"id": "healthy", "url": site.add("/healthy.xml", Resource(healthy, RSS))}]
    feeds += [{"id": name, "url": url} for name, url in hostile_feeds.items()]
    for feed in feeds:
        feed.update(interval="1h", min_interval="1h")
    prefix, port = unique_prefix(), free_port()
    config = service_config(tmp_path, feeds, bootstrap, prefix, port, **sections)
    peaks: dict[str, float] = {}

    def snapshot() -> Run:
        seen = outcomes(port)
        text = _metrics(port)
        return Run(port, [], [], seen, text, peaks)

    def done(service: subprocess.Popen[bytes]) -> bool:
        assert service.poll() is None, "the service stopped"
        for pid in [service.pid, *child_pids(service.pid)]:
            name = "service" if pid == service.pid else f"child {pid}"
            peaks[name] = max(peaks.get(name, 0.0), rss_mb(pid))
        run = snapshot()
        polled = {feed for feed, _ in run.outcomes}
        published = _sample_sum(
            run.metrics, f'newswire_articles_published_total{{topic="{prefix}.articles"}}'
        )
        return published >= len(HEALTHY) and polled >= {f["id"] for f in feeds} and until(run)

    with running_service(config, stop_within=90) as service:
        wait_for(lambda: done(service), timeout=120, what="healthy stories and every feed polled")
        final = snapshot()
    final.articles = read_messages(bootstrap, f"{prefix}.articles")
    final.dead_letters = read_messages(bootstrap, f"{prefix}.dlq")
    healthy_urls = sorted(
        a["source_url"].removeprefix(site.base)
        for a in final.articles
        if "/story/10" in a["source_url"]
    )
    assert healthy_urls == [f"/story/{i}" for i in HEALTHY]
    worker_bound = max(RSS_BOUND_MB, sections.get("extract", {}).get("memory_limit_mb", 0))
    assert peaks["service"] < RSS_BOUND_MB, peaks
    assert all(peak < worker_bound for name, peak in peaks.items() if name != "service"), peaks
    return final


def _metrics(port: int) -> str:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return ""


def _sample_sum(text: str, prefix: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)
    )


# 1. dates real feeds carry
def test_zero_and_out_of_range_dates_are_no_date_not_a_crash(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path
) -> None:
    items = [
        rss_item(
            "Zero",
            add_story(site, 1),
            "<pubDate>0000-00-00 00:00:00</pubDate><dc:date>0000-00-00 00:00:00</dc:date>",
        ),
        rss_item("Far", add_story(site, 2), "<pubDate>9999-12-31T23:59:59-01:00</pubDate>"),
        rss_item(
            "Early",
            add_story(site, 3),
            "<UpdateDate>0001-01-01T00:00:00+01:00</UpdateDate>"
            "<pubDate>Tue, 24 Nov 2026 10:00:00 GMT</pubDate>",
        ),
    ]
    body = rss(items).replace(b"<rss ", b'<rss xmlns:dc="http://purl.org/dc/elements/1.1/" ')
    run = beside_healthy(
        site, kafka_bootstrap, tmp_path, {"dates": site.add("/dates.xml", Resource(body, RSS))}
    )
    assert run.outcomes.get(("dates", "ok"))
    assert run.article("/story/1")["published_at"] is None
    assert run.article("/story/2")["published_at"] is None
    early = run.article("/story/3")
    assert early["published_at"] == "2026-11-24T10:00:00Z"
    assert early["updated_at"] is None


# 2. credentials in a link, and a redirect to one (the default aiohttp transport)
def test_links_and_redirects_with_userinfo_are_fetched(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path
) -> None:
    add_story(site, 4)
    add_story(site, 5)
    with_user = site.base.replace("http://", "http://reader@")
    site.add(
        "/moved/5",
        Resource(
            status=302, location=site.base.replace("http://", "http://reader:pw@") + "/story/5"
        ),
    )
    body = rss([rss_item("User", f"{with_user}/story/4"), rss_item("Moved", site.url("/moved/5"))])
    run = beside_healthy(
        site,
        kafka_bootstrap,
        tmp_path,
        {"userinfo": site.add("/userinfo.xml", Resource(body, RSS))},
    )
    for path in ("/story/4", "/moved/5"):
        assert run.article(path)["extraction"]["method"] == "page"
    asked = [r for r in site.requests if r.path in ("/story/4", "/story/5")]
    assert {r.headers.get("authorization") for r in asked} == {
        "Basic cmVhZGVyOg==",
        "Basic cmVhZGVyOnB3",
    }


# 3. JSON Feed with fields of the wrong type, an overflowing date, absurd nesting
def test_malformed_json_feeds_skip_what_is_malformed(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path
) -> None:
    version = "https://jsonfeed.org/version/1.1"
    items = [
        {"id": "t", "url": add_story(site, 6), "title": "Tags", "tags": 1},
        {"id": "a", "url": add_story(site, 7), "title": "Attachments", "attachments": 1},
        {
            "id": "d",
            "url": add_story(site, 8),
            "title": "Date",
            "date_published": "0001-01-01T00:00+14:00",
        },
    ]
    feed = json.dumps({"version": version, "title": "j", "items": items}).encode()
    deep = (
        b'{"version": "'
        + version.encode()
        + b'", "items": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}"
    )
    json_type = "application/feed+json"
    hostile = {
        "json": site.add("/feed.json", Resource(feed, json_type)),
        "deep": site.add("/deep.json", Resource(deep, json_type)),
    }
    run = beside_healthy(site, kafka_bootstrap, tmp_path, hostile)
    assert run.outcomes.get(("json", "ok"))
    assert run.outcomes.get(("deep", "parse_error"))
    assert run.article("/story/6")["tags"] == []
    assert run.article("/story/7")["media"] == []
    assert run.article("/story/8")["published_at"] is None


# 4. Content-Encoding: gzip, gzip: 5 KB on the wire, 3 GiB two layers down
def test_a_layered_gzip_bomb_is_refused_at_the_cap_of_each_layer(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path
) -> None:
    bomb = (DATA / "hostile" / "gzip-gzip-3gib.bin").read_bytes()
    layered = {"Content-Encoding": "gzip, gzip"}
    site.add("/bomb/page", Resource(bomb, headers=layered))
    entry = rss([rss_item("Bombed page", site.url("/bomb/page"))])
    hostile = {
        "bomb-feed": site.add("/bomb.xml", Resource(bomb, RSS, headers=layered)),
        "bomb-page": site.add("/bomb-page.xml", Resource(entry, RSS)),
    }
    run = beside_healthy(site, kafka_bootstrap, tmp_path, hostile)
    assert run.outcomes.get(("bomb-feed", "too_large"))
    fallback = run.article("/bomb/page")  # the page refused, the feed's text published
    assert fallback["extraction"]["method"] == "feed_summary"
    assert fallback["extraction"]["fallback_reason"] == "too_large"


# 5. a body that is a path on this machine
def test_a_feed_body_that_is_a_local_path_is_never_opened(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path
) -> None:
    secret = tmp_path / "local.xml"
    secret.write_bytes(rss([rss_item("LOCAL FILE DISCLOSED", add_story(site, 9))]))
    hostile = {
        "dev-zero": site.add("/zero.xml", Resource(b"/dev/zero", RSS)),
        "local-file": site.add("/local.xml", Resource(str(secret).encode(), RSS)),
    }
    run = beside_healthy(site, kafka_bootstrap, tmp_path, hostile)
    assert run.outcomes.get(("dev-zero", "parse_error"))
    assert run.outcomes.get(("local-file", "parse_error"))
    assert not [a for a in run.articles if "LOCAL FILE" in a["title"]]


def table_page(cells: int) -> bytes:
    """A page whose table takes trafilatura about 7 s and 190 MB per 100,000 cells."""
    row = "<tr>" + "".join(f"<td>{i}</td>" for i in range(10)) + "</tr>"
    story = "<p>" + "The words of the story itself. " * 20 + "</p>"
    html = f"<html><body><article><h1>Report</h1>{story}<table>{row * (cells // 10)}</table></article></body></html>"
    return html.encode()


def credits_page() -> str:
    """A megabyte paragraph of "(photo:" repeated, never closed."""
    return (
        "<html><body><article><h1>Credits</h1><p>"
        + "(photo:" * 150_000
        + "</p></article></body></html>"
    )


def lead_page() -> str:
    """A megabyte of paragraphs each opening like the page's description."""
    description = "Residents of the border town waited for hours at the crossing on Monday."
    paragraphs = "".join(
        f"<p>Residents of the border town waited {i} minutes and went home.</p>"
        for i in range(15_000)
    )
    return (
        f'<html><head><meta name="description" content="{description}"></head><body>'
        f"<article><h1>Crossing</h1><div><div>{paragraphs}</div></div></article>"
        "</body></html>"
    )


def empty_tags_page() -> str:
    """A megabyte paragraph with empty inline elements in it, as many as are repaired."""
    return (
        "<html><body><article><h1>Words</h1><p>"
        + ("<b></b>" + "word " * 1000) * MAX_REPAIRS
        + "</p></article></body></html>"
    )


def many_empty_tags_page() -> str:
    """80,000 empty inline elements, each with a word after it: too many to repair (the page
    is read as it is; trafilatura's own pass takes about 20 s of the minute)."""
    return (
        "<html><body><article><h1>Words</h1><p>"
        + "<b></b>word " * 80_000
        + "</p></article></body></html>"
    )


# 6a. steps once quadratic on a megabyte page, each over the 60 s limit, which the
# over-budget count shows (no wall-clock assertion needed): a credit regex on "(photo:"
# repeated (30 s for 563 KB); the lead search climbing from every text node holding the
# description's opening (10 s for 280 KB, about 140 s for the megabyte); empty elements found
# by an XPath that libxml2 made quadratic (132 s for 960 KB of them), and each removal joining
# text (so at most MAX_REPAIRS are removed)
@pytest.mark.parametrize(
    "make_page", [credits_page, lead_page, empty_tags_page, many_empty_tags_page]
)
def test_a_megabyte_page_is_cleaned_repaired_and_searched_in_linear_time(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path, make_page: Callable[[], str]
) -> None:
    site.add("/page", Resource(make_page().encode()))
    feed = rss([rss_item("Crossing", site.url("/page"))])
    run = beside_healthy(
        site,
        kafka_bootstrap,
        tmp_path,
        {"page": site.add("/page.xml", Resource(feed, RSS))},
        extract={"workers": 1, "time_limit": "60s"},
    )
    assert run.article("/page")["extraction"]["method"] == "page"
    assert _sample_sum(run.metrics, "newswire_worker_over_budget_total") == 0


# 6b. a page that would take gigabytes: MemoryError in the worker, the feed's text instead
def test_a_page_over_the_memory_limit_falls_back_to_the_feeds_text(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path
) -> None:
    site.add(
        "/table", Resource(gzip.compress(table_page(350_000)), headers={"Content-Encoding": "gzip"})
    )
    feed = rss([rss_item("Table", site.url("/table"))])
    run = beside_healthy(
        site,
        kafka_bootstrap,
        tmp_path,
        {"table": site.add("/table.xml", Resource(feed, RSS))},
        extract={"workers": 1, "time_limit": "5m", "memory_limit_mb": 150},
    )
    table = run.article("/table")
    assert table["extraction"]["fallback_reason"] == "over_budget"
    assert table["extraction"]["method"] == "feed_summary"
    assert 'newswire_worker_over_budget_total{kind="memory"} 1.0' in run.metrics


# 6c. a page over the time limit: its worker killed, the pool replaced, nothing else lost
def test_a_page_over_the_time_limit_is_cut_off_and_the_pool_replaced(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path
) -> None:
    site.add("/slow-table", Resource(table_page(250_000)))  # about 20 s of work
    feed = rss([rss_item("Slow table", site.url("/slow-table"))])
    run = beside_healthy(
        site,
        kafka_bootstrap,
        tmp_path,
        {"slow": site.add("/slow.xml", Resource(feed, RSS))},
        extract={"workers": 1, "time_limit": "5s", "memory_limit_mb": 4000},
    )
    slow = run.article("/slow-table")
    assert slow["extraction"]["fallback_reason"] == "over_budget"
    assert 'newswire_worker_over_budget_total{kind="time"} 1.0' in run.metrics
    assert _sample_sum(run.metrics, "newswire_worker_pool_replacements_total") >= 1


# 8. two services on one state dir
def test_a_second_run_on_the_same_state_dir_is_refused_naming_the_first(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path
) -> None:
    healthy = rss([rss_item("Healthy", add_story(site, 100))])
    feeds = [{"url": site.add("/one.xml", Resource(healthy, RSS)), "interval": "1h"}]
    config = service_config(tmp_path, feeds, kafka_bootstrap, unique_prefix(), free_port())
    with running_service(config) as first:
        wait_for(lambda: (tmp_path / "state" / "run.lock").exists(), what="the first run's lock")
        second = subprocess.run(run_command(config), capture_output=True, text=True, timeout=60)
        assert first.poll() is None
    assert second.returncode == 1
    assert f"is in use by newswire process {first.pid}" in second.stderr
    assert "another state.dir" in second.stderr


# 10a. SIGTERM during start-up
@pytest.mark.parametrize("after", [0.05, 0.4, 0.9, 1.5, 2.5])
def test_sigterm_during_start_up_exits_0(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path, after: float
) -> None:
    feeds = [{"url": site.add("/s.xml", Resource(rss([]), RSS)), "interval": "1h"}]
    config = service_config(tmp_path, feeds, kafka_bootstrap, unique_prefix(), free_port())
    service = subprocess.Popen(run_command(config), stderr=subprocess.PIPE)
    time.sleep(after)
    service.send_signal(signal.SIGTERM)
    _, stderr = service.communicate(timeout=60)
    assert service.returncode == 0, stderr.decode()[-2000:]
    assert b"Traceback" not in stderr


# 10b. SIGTERM to the whole process group, as `timeout` and terminals send it
def test_sigterm_to_the_process_group_drains_and_exits_0(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path
) -> None:
    # a page whose extraction takes a few seconds: the group's SIGTERM lands while a worker
    # extracts it (the workers died with it, and the service with a BrokenProcessPool)
    site.add("/busy", Resource(table_page(40_000)))
    items = [rss_item(f"G {i}", add_story(site, i)) for i in HEALTHY]
    items.append(rss_item("Busy", site.url("/busy")))
    feeds = [{"url": site.add("/g.xml", Resource(rss(items), RSS)), "interval": "1h"}]
    prefix, port = unique_prefix(), free_port()
    config = service_config(tmp_path, feeds, kafka_bootstrap, prefix, port)
    service = subprocess.Popen(run_command(config), stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_for(lambda: site.hits("/busy") >= 1, what="the busy page fetched")
        time.sleep(0.5)  # in the worker by now
        workers = child_pids(service.pid)
        os.killpg(service.pid, signal.SIGTERM)  # the whole group, as `timeout` sends it
        _, stderr = service.communicate(timeout=60)
    finally:
        if service.poll() is None:
            service.kill()
    assert service.returncode == 0, stderr.decode()[-2000:]
    assert b"BrokenProcessPool" not in stderr and b"Traceback" not in stderr
    assert workers  # there were workers, and the group's SIGTERM did not reach them
    urls = sorted(
        m["source_url"].removeprefix(site.base)
        for m in read_messages(kafka_bootstrap, f"{prefix}.articles")
    )
    assert urls == sorted(["/busy", *(f"/story/{i}" for i in HEALTHY)])  # drained, all of it


# 7. the broker restarts without its producer state (the embedded, memory-only broker)
def test_a_broker_restarted_without_producer_state_is_drained_without_a_restart(
    site: FixtureSite, tmp_path: Path
) -> None:
    broker = EmbeddedBroker(f"127.0.0.1:{free_port()}", log_file=tmp_path / "broker.log")
    bootstrap = broker.start()
    first, then = [20, 21, 22], [23, 24, 25]
    items = [rss_item(f"Before {i}", add_story(site, i)) for i in first]
    feeds = [
        {
            "url": site.add("/r.xml", Resource(rss(items), RSS)),
            "interval": "1s",
            "min_interval": "1s",
        }
    ]
    prefix, port = unique_prefix(), free_port()
    # shorter than the defaults (30 s, 60 s) so that the rebuild comes within seconds
    config = service_config(
        tmp_path,
        feeds,
        bootstrap,
        prefix,
        port,
        kafka={"bootstrap_servers": bootstrap, "delivery_timeout": "4s"},
        outbox={"stall_after": "6s"},
    )
    try:
        with running_service(config) as service:
            wait_for(lambda: _sample_sum(_metrics(port), "newswire_articles_published_total") >= 3)
            broker.stop()  # its topics and producer ids are gone with it
            broker.start()
            items += [rss_item(f"After {i}", add_story(site, i)) for i in then]
            site.add("/r.xml", Resource(rss(items), RSS))
            wait_for(
                lambda: _sample_sum(_metrics(port), "newswire_articles_published_total") >= 6,
                timeout=90,
                what="the new stories acknowledged",
            )
            assert service.poll() is None
            metrics = _metrics(port)
        delivered = read_messages(bootstrap, f"{prefix}.articles")
    finally:
        broker.stop()
    assert sorted(m["source_url"].removeprefix(site.base) for m in delivered) == [
        f"/story/{i}" for i in then
    ]
    assert _sample_sum(metrics, "newswire_producer_restarts_total") >= 1
    assert "newswire_outbox_records 0.0" in metrics
