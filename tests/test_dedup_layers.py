"""The title and near-duplicate layers through the pipeline, on the real broker: a syndicated
copy is diverted with `duplicate_of` and `cluster_id` (and a copy checked before its story
keeps the story one cluster), two reports of one event are not duplicates, a republished
title is dropped, and the policy can publish repeats instead."""

from __future__ import annotations

import asyncio
import base64
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from newswire.models import DedupRecord, FeedSpec
from newswire.publish.producer import configured_topics, ensure_topics
from newswire.settings import Settings
from newswire.sketch import compact, compact_similarity
from newswire.state import StateStore
from tests.builders import CONFIG, FEEDS
from tests.kafka_support import read_messages, read_topic, unique_prefix
from tests.pipeline_support import poll_and_drain
from tests.site import FixtureSite, Resource
from tests.stories import story

pytestmark = pytest.mark.integration
RSS = "application/rss+xml"


def page(title: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!DOCTYPE html><html lang="en"><head><title>{title}</title></head><body><article>'
        f"<h1>{title}</h1>{body}</article></body></html>"
    ).encode()


def rss(site: FixtureSite, items: list[tuple[str, str]]) -> bytes:
    body = "".join(f"<item><title>{t}</title><link>{site.url(p)}</link></item>" for p, t in items)
    return f'<rss version="2.0"><channel><title>t</title>{body}</channel></rss>'.encode()


def settings_for(bootstrap: str, **dedup: object) -> Settings:
    prefix = unique_prefix()
    base = CONFIG.settings
    settings = base.model_copy(
        update={
            "topics": base.topics.model_copy(
                update={
                    "articles": f"{prefix}.articles",
                    "duplicates": f"{prefix}.duplicates",
                    "dead_letters": f"{prefix}.dlq",
                }
            ),
            "routes": (),
            "dedup": base.dedup.model_copy(update=dedup),
        }
    )
    ensure_topics(settings.kafka, bootstrap, settings.topics, configured_topics(settings))
    return settings


def feed(site: FixtureSite, path: str, outlet: str) -> FeedSpec:
    return FeedSpec(f"{outlet}.test", site.url(path), FEEDS[outlet].outlet, 300)


def duplicates(layer: str) -> float:
    return REGISTRY.get_sample_value("newswire_duplicates_total", {"layer": layer}) or 0.0


def run(
    settings: Settings,
    bootstrap: str,
    store: StateStore,
    pool: ProcessPoolExecutor,
    *feeds: FeedSpec,
) -> None:
    asyncio.run(poll_and_drain(settings, bootstrap, store, pool, feeds))


def serve_syndication(site: FixtureSite) -> tuple[FeedSpec, FeedSpec]:
    title, paragraphs = story(7)
    copy = [
        "A different first sentence, written by the syndicating desk. " + paragraphs[0],
        *paragraphs[1:3],
        paragraphs[3].rsplit(". ", 1)[0],  # a sentence removed
        paragraphs[4],
        "(Reporting by the wire service; editing by the Middle East desk)",
    ]
    site.add("/original", Resource(page(title, paragraphs)))
    site.add("/copy", Resource(page("Convoy crosses border as talks stall", copy)))
    site.add("/orig.rss", Resource(rss(site, [("/original", title)]), RSS))
    site.add(
        "/copy.rss", Resource(rss(site, [("/copy", "Convoy crosses border as talks stall")]), RSS)
    )
    return feed(site, "/orig.rss", "shafaq-news"), feed(site, "/copy.rss", "jerusalem-post")


def test_a_syndicated_copy_is_diverted_with_duplicate_of_and_cluster_id(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path, pool: ProcessPoolExecutor
) -> None:
    settings = settings_for(kafka_bootstrap)
    store = StateStore(tmp_path / "s.db")
    original, copy = serve_syndication(site)
    before = duplicates("near")
    run(settings, kafka_bootstrap, store, pool, original)
    run(settings, kafka_bootstrap, store, pool, copy)

    (published,) = read_messages(kafka_bootstrap, settings.topics.articles)
    assert published["cluster_id"] == published["id"] and published["duplicate_of"] is None
    assert published["sketch"].startswith("minhash128-w5:")
    (diverted,) = read_messages(kafka_bootstrap, settings.topics.duplicates)
    assert diverted["url"] == site.url("/copy")
    assert diverted["duplicate_of"] == published["id"]
    assert diverted["cluster_id"] == published["id"]
    assert diverted["outlet"]["id"] == "jerusalem-post"
    assert duplicates("near") == before + 1


@pytest.mark.parametrize("policy", ["divert", "drop"])
def test_a_copy_checked_before_its_story_keeps_the_story_one_cluster(
    site: FixtureSite,
    kafka_bootstrap: str,
    tmp_path: Path,
    pool: ProcessPoolExecutor,
    policy: str,
) -> None:
    # two rewrites of one wire story, each keeping 6 of its 10 paragraphs (2 in common): each
    # is near the story, not near the other. The first rewrite is checked first, so it is
    # the cluster's original and the story its copy; the second rewrite resembles only the
    # story, which is a duplicate: it is caught because a copy's sketch is indexed too,
    # whether the copy was diverted or dropped.
    settings = settings_for(kafka_bootstrap, near_policy=policy)
    store = StateStore(tmp_path / "s.db")
    _, paragraphs = story(31, paragraphs=10)
    pages = {
        "/rewrite-1": ("Wire story rewritten by the first desk", paragraphs[:6] + story(32, 4)[1]),
        "/story": ("The wire story as the agency filed it", paragraphs),
        "/rewrite-2": ("Wire story rewritten by the second desk", paragraphs[4:] + story(33, 4)[1]),
    }
    outlets = {"/rewrite-1": "jerusalem-post", "/story": "shafaq-news", "/rewrite-2": "rudaw"}
    before = duplicates("near")
    for path, (title, body) in pages.items():
        site.add(path, Resource(page(title, body)))
        site.add(f"{path}.rss", Resource(rss(site, [(path, title)]), RSS))
        run(settings, kafka_bootstrap, store, pool, feed(site, f"{path}.rss", outlets[path]))

    (first,) = read_messages(kafka_bootstrap, settings.topics.articles)
    assert first["url"] == site.url("/rewrite-1") and first["cluster_id"] == first["id"]
    assert duplicates("near") == before + 2
    if policy == "drop":
        assert read_messages(kafka_bootstrap, settings.topics.duplicates) == []
        return
    diverted = {m["url"]: m for m in read_messages(kafka_bootstrap, settings.topics.duplicates)}
    agency, second = diverted[site.url("/story")], diverted[site.url("/rewrite-2")]
    assert agency["duplicate_of"] == first["id"] == agency["cluster_id"]
    assert second["duplicate_of"] == agency["id"]  # the article it resembles: the story
    assert second["cluster_id"] == first["id"]
    # the two rewrites alone are under the threshold: only the story links them
    assert near_score(first, second) < settings.dedup.near_threshold <= near_score(agency, second)


def near_score(a: dict[str, Any], b: dict[str, Any]) -> float:
    """How alike two published messages' texts are, as the near layer scores them."""
    sigs = [base64.b64decode(m["sketch"].split(":", 1)[1]) for m in (a, b)]
    return compact_similarity(compact(sigs[0]), compact(sigs[1]))


def test_two_reports_of_one_event_are_not_duplicates(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path, pool: ProcessPoolExecutor
) -> None:
    # like the seeds: the same town, different days, different facts, two outlets
    settings = settings_for(kafka_bootstrap)
    store = StateStore(tmp_path / "s.db")
    site.add_file("/strikes", "site/shafaq-albukamal-strikes.html", "text/html")
    site.add_file("/crossing", "site/jpost-albukamal-crossing.html", "text/html")
    site.add("/a.rss", Resource(rss(site, [("/strikes", "Drone strikes hit al-Bukamal")]), RSS))
    site.add("/b.rss", Resource(rss(site, [("/crossing", "Al-Bukamal crossing reopens")]), RSS))
    run(settings, kafka_bootstrap, store, pool, feed(site, "/a.rss", "shafaq-news"))
    run(settings, kafka_bootstrap, store, pool, feed(site, "/b.rss", "jerusalem-post"))
    messages = read_messages(kafka_bootstrap, settings.topics.articles)
    assert len(messages) == 2
    assert {m["cluster_id"] for m in messages} == {m["id"] for m in messages}
    assert read_messages(kafka_bootstrap, settings.topics.duplicates) == []


def test_a_title_republished_under_a_new_url_by_the_same_outlet_is_dropped(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path, pool: ProcessPoolExecutor
) -> None:
    settings = settings_for(kafka_bootstrap)
    store = StateStore(tmp_path / "s.db")
    title, paragraphs = story(11)
    _, other = story(12)  # different text: only the title layer can catch it
    site.add("/first", Resource(page(title, paragraphs)))
    site.add("/again", Resource(page(title, other)))
    site.add("/live-1", Resource(page("Live updates", story(13)[1])))
    site.add("/live-2", Resource(page("Live updates", story(14)[1])))
    first = [("/first", title), ("/live-1", "Live updates")]
    site.add("/1.rss", Resource(rss(site, first), RSS))
    site.add("/2.rss", Resource(rss(site, [("/again", title), ("/live-2", "Live updates")]), RSS))
    before = duplicates("title")
    run(settings, kafka_bootstrap, store, pool, feed(site, "/1.rss", "shafaq-news"))
    run(settings, kafka_bootstrap, store, pool, feed(site, "/2.rss", "shafaq-news"))
    urls = sorted(m["url"] for m in read_messages(kafka_bootstrap, settings.topics.articles))
    # the repeat is dropped; "Live updates" is too short a title to compare
    assert urls == sorted(site.url(p) for p in ("/first", "/live-1", "/live-2"))
    assert duplicates("title") == before + 1
    assert read_messages(kafka_bootstrap, settings.topics.duplicates) == []


def test_policy_publish_puts_the_copy_on_the_articles_topic_with_its_fields(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path, pool: ProcessPoolExecutor
) -> None:
    settings = settings_for(kafka_bootstrap, near_policy="publish")
    store = StateStore(tmp_path / "s.db")
    original, copy = serve_syndication(site)
    run(settings, kafka_bootstrap, store, pool, original)
    run(settings, kafka_bootstrap, store, pool, copy)
    messages = {m["url"]: m for m in read_messages(kafka_bootstrap, settings.topics.articles)}
    first, second = messages[site.url("/original")], messages[site.url("/copy")]
    assert second["duplicate_of"] == first["id"] == second["cluster_id"]


def test_pruning_forgets_what_is_older_than_each_window(tmp_path: Path) -> None:
    from newswire.sketch import band_keys, signature

    store = StateStore(tmp_path / "s.db")
    sig = signature(" ".join(story(3)[1]))
    assert sig is not None
    keys = ("title:o:a b c d", "url:https://x.test/1")
    then = time.time() - 3 * 3600  # windows are cut on whole hours
    store.accept([], DedupRecord("a" * 32, keys, ("a" * 32, sig), at=then))
    assert store.prune(then - 60, then - 60, then - 60) == 0  # all younger than the windows
    assert store.sketch_candidates(band_keys(sig), 0)
    store.accept([], DedupRecord("b" * 32, ("url:https://x.test/2",), at=time.time()))
    assert store.prune(then + 7200, then + 7200, then - 60) == 0  # the sketch goes, keys stay
    assert store.sketch_candidates(band_keys(sig), 0) == []
    assert store.known(["url:https://x.test/1"]) is not None
    assert store.seen_since("title:o:a b c d", then + 7200) is None  # outside the title window
    assert store.seen_since("title:o:a b c d", then - 60) == "a" * 32
    assert store.prune(then + 7200, then + 7200, then + 7200) == 1  # now the record itself
    assert store.known(["url:https://x.test/1"]) is None
    assert store.known(["url:https://x.test/2"]) is not None


def atom(site: FixtureSite, path: str, title: str, updated: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>t</title><id>tag:t</id><updated>{updated}</updated><entry><title>{title}</title>"
        f'<id>tag:t:1</id><link href="{site.url(path)}"/><published>2026-11-20T08:00:00Z'
        f"</published><updated>{updated}</updated></entry></feed>"
    ).encode()


def test_a_materially_changed_article_is_published_as_a_revision_with_the_same_key(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path, pool: ProcessPoolExecutor
) -> None:
    settings = settings_for(kafka_bootstrap)
    store = StateStore(tmp_path / "s.db")
    title, paragraphs = story(21)
    _, more = story(22)
    spec = feed(site, "/rev.atom", "shafaq-news")

    def poll(body: list[str], updated: str) -> None:
        site.add("/story", Resource(page(title, body)))
        site.add("/rev.atom", Resource(atom(site, "/story", title, updated), RSS))
        run(settings, kafka_bootstrap, store, pool, spec)

    poll(paragraphs, "2026-11-20T08:00:00Z")
    poll(paragraphs[:2] + more, "2026-11-20T09:00:00Z")  # rewritten: a revision
    unchanged = duplicates("unchanged")
    poll(paragraphs[:2] + more, "2026-11-20T10:00:00Z")  # updated, same text: nothing new
    assert duplicates("unchanged") == unchanged + 1
    fetches = site.hits("/story")
    poll(paragraphs[:2] + more, "2026-11-20T10:00:00Z")  # not updated again: not refetched
    assert site.hits("/story") == fetches

    first, revised = read_messages(kafka_bootstrap, settings.topics.articles)
    assert (first["revision"], first["previous_content_hash"]) == (0, None)
    assert revised["id"] == first["id"] and revised["revision"] == 1
    assert revised["previous_content_hash"] == first["content_hash"]
    assert revised["content_hash"] != first["content_hash"]
    assert revised["cluster_id"] == first["cluster_id"] == first["id"]
    records = read_topic(kafka_bootstrap, settings.topics.articles)
    assert {r.key for r in records} == {first["id"].encode()}  # compaction keeps the latest
