"""The pipeline in-process: metrics by outcome, and nothing lost when publishing fails."""

from __future__ import annotations

import asyncio
import hashlib
import random
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from newswire.models import FeedSpec, OutletSpec
from newswire.pipeline import RunStats
from newswire.publish.producer import configured_topics, ensure_topics
from newswire.settings import Settings
from newswire.state import StateStore
from tests.builders import CONFIG, FEEDS
from tests.kafka_support import read_messages, unique_prefix
from tests.pipeline_support import poll_and_drain
from tests.site import FixtureSite, Resource

pytestmark = pytest.mark.integration
RSS = "application/rss+xml"


def serve(site: FixtureSite) -> tuple[FeedSpec, FeedSpec]:
    site.add_file(
        "/en/Iraq-News/Drone-strikes-hit-armed-faction-sites-in-Syria-s-al-Bukamal",
        "site/shafaq-albukamal-strikes.html",
        "text/html",
    )
    site.add_file(
        "/en/Security/Rocket-lands-near-Baghdad-s-Green-Zone-no-casualties",
        "site/shafaq-baghdad-green-zone.html",
        "text/html",
    )
    site.add_file("/en/rss", "feeds/shafaq-en.xml", RSS, etag='"s1"')
    site.add_file("/en/rss/iraq", "feeds/shafaq-iraq.xml", RSS)
    outlet = FEEDS["shafaq-news"].outlet
    return (
        FeedSpec("shafaq-en", site.url("/en/rss"), outlet, 300),
        FeedSpec("shafaq-iraq", site.url("/en/rss/iraq"), outlet, 300),
    )


def run_pipeline(
    settings: Settings,
    bootstrap: str,
    store: StateStore,
    pool: ProcessPoolExecutor,
    feeds: tuple[FeedSpec, ...],
) -> RunStats:
    stats, _ = asyncio.run(poll_and_drain(settings, bootstrap, store, pool, feeds))
    return stats


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def configured(prefix: str, **kafka: object) -> Settings:
    settings = CONFIG.settings.model_copy(
        update={
            "topics": CONFIG.settings.topics.model_copy(
                update={"articles": f"{prefix}.articles", "dead_letters": f"{prefix}.dlq"}
            ),
            "routes": (),
            "kafka": CONFIG.settings.kafka.model_copy(update=kafka),
        }
    )
    return settings


def with_fresh_topic(bootstrap: str) -> Settings:
    """Settings whose articles topic is new and created on the broker."""
    settings = configured(unique_prefix())
    ensure_topics(settings.kafka, bootstrap, settings.topics, configured_topics(settings))
    return settings


def test_metrics_count_polls_articles_duplicates_and_fallbacks(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path, pool: ProcessPoolExecutor
) -> None:
    settings = with_fresh_topic(kafka_bootstrap)
    feeds = serve(site)
    before = {
        "ok": sample("newswire_polls_total", feed="shafaq-en", outlet="shafaq-news", outcome="ok"),
        "dup": sample("newswire_duplicates_total", layer="url"),
        "404": sample("newswire_errors_total", stage="fetch", reason="http_404"),
        "summary": sample(
            "newswire_extractions_total", outlet="shafaq-news", method="feed_summary"
        ),
        "pub": sample("newswire_articles_published_total", topic=settings.topics.articles),
    }
    store = StateStore(tmp_path / "state.db")
    stats = run_pipeline(settings, kafka_bootstrap, store, pool, feeds)

    assert (stats.published, stats.duplicates) == (3, 1)
    assert stats.failures == {"fetch/http_404": 1}
    assert (
        sample("newswire_polls_total", feed="shafaq-en", outlet="shafaq-news", outcome="ok")
        == before["ok"] + 1
    )
    assert sample("newswire_duplicates_total", layer="url") == before["dup"] + 1
    assert sample("newswire_errors_total", stage="fetch", reason="http_404") == before["404"] + 1
    assert (
        sample("newswire_extractions_total", outlet="shafaq-news", method="feed_summary")
        == before["summary"] + 1
    )
    assert (
        sample("newswire_articles_published_total", topic=settings.topics.articles)
        == before["pub"] + 3
    )
    assert len(read_messages(kafka_bootstrap, settings.topics.articles)) == 3

    stats = run_pipeline(settings, kafka_bootstrap, store, pool, feeds)
    assert stats.published == 0
    assert (
        sample(
            "newswire_polls_total", feed="shafaq-en", outlet="shafaq-news", outcome="not_modified"
        )
        >= 1
    )


def test_an_article_over_the_brokers_size_limit_goes_to_the_dead_letter_topic(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path, pool: ProcessPoolExecutor
) -> None:
    feeds = serve(site)
    store = StateStore(tmp_path / "state.db")
    tiny = configured(unique_prefix(), max_request_bytes=1024)  # every article is too large
    topics = [tiny.topics.articles, tiny.topics.dead_letters]
    ensure_topics(tiny.kafka, kafka_bootstrap, tiny.topics, topics)
    before = sample("newswire_dead_letters_total", stage="publish", reason="message_too_large")

    stats = run_pipeline(tiny, kafka_bootstrap, store, pool, feeds[:1])
    assert (stats.published, stats.unsent) == (3, 0)  # accepted, then dead-lettered
    assert read_messages(kafka_bootstrap, tiny.topics.articles) == []
    letters = read_messages(kafka_bootstrap, tiny.topics.dead_letters)
    assert len(letters) == 3
    assert {(m["stage"], m["reason"], m["attempts"]) for m in letters} == {
        ("publish", "message_too_large", 1)
    }
    assert all(m["size"] > 1024 and m["url"].startswith(site.base) for m in letters)
    assert all(len(m["article_id"]) == 32 and m["topic"] == tiny.topics.articles for m in letters)
    after = sample("newswire_dead_letters_total", stage="publish", reason="message_too_large")
    assert after == before + 3
    assert store.outbox_size() == 0


def test_unreachable_feed_is_counted_not_raised(
    kafka_bootstrap: str, tmp_path: Path, pool: ProcessPoolExecutor
) -> None:
    settings = configured(unique_prefix())
    dead = FeedSpec("dead", "http://127.0.0.1:9/rss", FEEDS["shafaq-news"].outlet, 300)
    stats = run_pipeline(settings, kafka_bootstrap, StateStore(tmp_path / "s.db"), pool, (dead,))
    assert stats.failures == {"poll/connect": 1}
    assert sample("newswire_polls_total", feed="dead", outlet="shafaq-news", outcome="connect") >= 1


def test_entry_with_no_text_anywhere_is_retried_then_dead_lettered_after_its_attempts(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path, pool: ProcessPoolExecutor
) -> None:
    settings = with_fresh_topic(kafka_bootstrap)
    assert settings.poll.max_attempts == 3
    body = (
        b'<rss version="2.0"><channel><title>t</title><item><link>{{BASE}}/gone</link>'
        b"</item></channel></rss>"
    )
    feed = FeedSpec(
        "empty",
        site.add("/rss", Resource(body, RSS, etag='"e1"')),
        FEEDS["shafaq-news"].outlet,
        300,
    )
    store = StateStore(tmp_path / "s.db")
    for attempt in (1, 2):  # each poll a new pipeline: attempts are kept in the state store
        stats = run_pipeline(settings, kafka_bootstrap, store, pool, (feed,))
        assert stats.published == 0, attempt
        assert stats.failures == {"fetch/http_404": 1, "extract/too_little_text": 1}
        assert store.feed_state(feed).validators.etag is None  # retried on the next poll
    assert read_messages(kafka_bootstrap, settings.topics.dead_letters) == []
    stats = run_pipeline(settings, kafka_bootstrap, store, pool, (feed,))
    assert stats.failures == {"fetch/http_404": 1, "extract/too_little_text": 1}
    [letter] = read_messages(kafka_bootstrap, settings.topics.dead_letters)
    assert (letter["stage"], letter["reason"], letter["attempts"]) == (
        "extract",
        "too_little_text",
        3,
    )
    assert letter["entry"]["link"] == site.url("/gone")
    assert store.feed_state(feed).validators.etag == '"e1"'  # every entry handled
    site.resources["/rss"].etag = '"e2"'  # a new body: the entry is known, nothing fetched
    site.resources["/rss"].body += b" "
    hits = site.hits("/gone")
    stats = run_pipeline(settings, kafka_bootstrap, store, pool, (feed,))
    assert stats.failures == {} and site.hits("/gone") == hits
    assert read_messages(kafka_bootstrap, settings.topics.articles) == []


LINKLESS = b"""<rss version="2.0"><channel><title>Desk</title>
<item><guid isPermaLink="false">desk-7</guid><title>Ceasefire talks resume in Baghdad</title>
<description>&lt;p&gt;Negotiators met in Baghdad on Monday.&lt;/p&gt;Talks go on.</description></item>
<item><description>A bulletin with no link and no GUID: the feed's text is all there is.</description></item>
<item><author>desk@example.com</author></item>
</channel></rss>"""


def test_entries_without_a_link_are_published_from_the_feed_once_and_nothing_is_fetched(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path, pool: ProcessPoolExecutor
) -> None:
    settings = with_fresh_topic(kafka_bootstrap)
    feed = FeedSpec(
        "desk", site.add("/desk", Resource(LINKLESS, RSS)), FEEDS["shafaq-news"].outlet, 300
    )
    store = StateStore(tmp_path / "s.db")
    stats = run_pipeline(settings, kafka_bootstrap, store, pool, (feed,))
    assert stats.published == 2 and stats.failures == {}
    # by GUID: a topic's partitions are read in no particular order
    messages = read_messages(kafka_bootstrap, settings.topics.articles)
    first, second = sorted(messages, key=lambda m: m["guid"] is None)
    assert first["id"] == hashlib.sha256(b"guid:shafaq-news:desk-7").hexdigest()[:32]
    assert first["url"] == first["source_url"] == first["feed_url"] == feed.url
    assert first["text"] == "Negotiators met in Baghdad on Monday.\n\nTalks go on."
    assert first["extraction"]["method"] == "feed_summary"
    assert first["extraction"]["fallback_reason"] == "no_link"
    assert "IQ" in {r["country"] for r in first["regions"]}
    assert second["guid"] is None and len(second["id"]) == 32 and second["id"] != first["id"]
    assert second["text"].startswith("A bulletin with no link")
    assert [r.path for r in site.requests] == ["/desk"]  # no page fetched for either
    # polled again with a new body (the validators would skip the same one): no repeats
    site.resources["/desk"].body += b"\n"
    stats = run_pipeline(settings, kafka_bootstrap, store, pool, (feed,))
    assert stats.published == 0 and stats.duplicates == 2
    assert len(read_messages(kafka_bootstrap, settings.topics.articles)) == 2


STORIES = [
    ("Water talks resume in Baghdad", "Negotiators from Baghdad and Ankara met again"),
    ("Border crossing reopens near Qaim", "Trucks crossed the Qaim border point"),
    ("Power cuts hit Basra", "Residents of Basra faced long power cuts"),
    ("Kirkuk council elects a governor", "The Kirkuk provincial council voted"),
    ("Drought shrinks the Euphrates", "Farmers along the Euphrates said the river fell"),
    ("Erbil airport adds flights", "Erbil international airport announced new routes"),
]


VOCABULARY = (
    "river dam grain harvest convoy market school clinic bridge council budget police road "
    "drought flood tariff pipeline refinery port ferry hospital court mayor governor village "
    "teachers doctors farmers traders students workers drivers engineers judges nurses"
).split()


def story_page(title: str, lead: str) -> bytes:
    """An article of the outlet: its own words (no two are near-duplicates), between the
    outlet's recurring first and last lines."""
    words = random.Random(title).choices(VOCABULARY, k=90)
    body = "".join(
        f"<p>{lead}. {' '.join(words[n * 30 : n * 30 + 30]).capitalize()}.</p>" for n in range(3)
    )
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        "<p>Desk briefing, shared with subscribers</p>"  # the outlet's recurring first line
        f"{body}<p>Got a tip for the desk? Write to tips at our newsroom address.</p>"
        "</article></body></html>"
    ).encode()


def story_feed(count: int) -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>{{{{BASE}}}}/story/{n}</link></item>"
        for n, (title, _) in enumerate(STORIES[:count])
    )
    return f'<rss version="2.0"><channel><title>Desk</title>{items}</channel></rss>'.encode()


def test_an_outlets_recurring_first_and_last_lines_are_learned_and_removed(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path, pool: ProcessPoolExecutor
) -> None:
    """A feed list with no `cleaning:` block: after five articles that all open and close
    with the same lines, the outlet's next article comes without them (counts kept in the
    state store: each poll here is a new pipeline)."""
    settings = with_fresh_topic(kafka_bootstrap)
    assert settings.extract.learn_after == 5
    for n, (title, lead) in enumerate(STORIES):
        site.add(f"/story/{n}", Resource(story_page(title, lead), "text/html"))
    outlet = OutletSpec(id="desk", name="Desk Wire")  # no cleaning rules of its own
    feed = FeedSpec("desk", site.add("/rss", Resource(story_feed(5), RSS)), outlet, 300)
    store = StateStore(tmp_path / "s.db")
    assert run_pipeline(settings, kafka_bootstrap, store, pool, (feed,)).published == 5
    site.resources["/rss"].body = story_feed(6).replace(b"{{BASE}}", site.base.encode())
    assert run_pipeline(settings, kafka_bootstrap, store, pool, (feed,)).published == 1
    texts = {
        m["title"]: m["text"] for m in read_messages(kafka_bootstrap, settings.topics.articles)
    }
    first_five = [texts[title] for title, _ in STORIES[:5]]
    assert all(
        t.startswith("Desk briefing") and t.endswith("newsroom address.") for t in first_five
    )
    sixth = texts[STORIES[5][0]]
    assert sixth.startswith("Erbil international airport announced new routes.")
    assert "Desk briefing" not in sixth and "newsroom address" not in sixth
