"""Feed fidelity on files from feedparser's own test suite (tests/data/feeds/feedparser/),
served from 127.0.0.1 with the headers each file names, fetched and parsed the way a poll
does: entries without links, sanitised markup, text outside blocks, plain-text values,
declared languages, Content-Location, an empty channel, JSON Feed authors."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from newswire.errors import Reason
from newswire.extract.extractor import text_from_entry
from newswire.feeds.poll import parse_feed
from newswire.http.client import HttpFetcher
from newswire.http.fetch import fetch_feed
from newswire.models import FeedDocument, FeedEntry, FeedSpec, OutletSpec, ParsedFeed, Validators
from tests.builders import CONFIG
from tests.site import DATA, FixtureSite, Resource

CORPUS = DATA / "feeds" / "feedparser"
OUTLET = OutletSpec("corpus", "Corpus")
_HEADER = re.compile(r"^Header:\s*([\w-]+):\s*(.*?)\s*$", re.MULTILINE)
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]*>")


def served(site: FixtureSite, rel: str) -> ParsedFeed:
    """The file served with its declared headers, fetched and parsed as a poll does."""
    body = (CORPUS / rel).read_bytes()
    kind = "application/json" if rel.endswith(".json") else "application/xml"
    headers = dict(_HEADER.findall(body[:2048].decode("utf-8", "replace")))
    url = site.add(f"/{rel}", Resource(body, kind, headers=headers))
    feed = FeedSpec(rel, url, OUTLET, 300.0)

    async def fetch() -> object:
        async with HttpFetcher(CONFIG.settings.http) as fetcher:
            return await fetch_feed(fetcher, feed, Validators())

    document = asyncio.run(fetch())
    assert isinstance(document, FeedDocument), document
    parsed = parse_feed(document)
    assert isinstance(parsed, ParsedFeed), parsed
    return parsed


def text(entry: FeedEntry) -> str:
    """The text a message would carry for this entry (no page: its link is not fetched)."""
    return text_from_entry(entry, OUTLET, Reason.NO_LINK).text


@pytest.mark.parametrize(
    "rel",
    [
        "wellformed/sanitize/entry_title_script.xml",
        "wellformed/sanitize/entry_content_script.xml",
        "wellformed/sanitize/entry_content_iframe.xml",
    ],
)
def test_no_script_frame_or_markup_reaches_a_text_field(site: FixtureSite, rel: str) -> None:
    [entry] = served(site, rel).entries
    for value in (entry.title, text(entry)):
        assert "location.href" not in value and "example.com" not in value
        assert not _TAG.search(value), value
    assert "safe description" in (entry.title, text(entry))


def test_entries_without_a_link_are_kept_with_their_text_and_identity(site: FixtureSite) -> None:
    [entry] = served(site, "wellformed/rss/item_description.xml").entries
    assert entry.link is None and entry.guid is None and entry.content_id
    assert text(entry) == "Example description"
    [permalink] = served(site, "wellformed/rss/item_guid_isPermaLink_guidislink.xml").entries
    assert permalink.link == "http://guid.example.com/"  # a permalink GUID is the link


def test_text_outside_block_elements_is_kept_and_repeated_lines_too(site: FixtureSite) -> None:
    entries = served(site, "wellformed/sanitize/large_atom_feed_that_needs_css_sanitisation.xml")
    assert len(entries.entries) == 15
    first = text(entries.entries[1])
    # the product name sits outside any <p>; each screenshot's caption repeats
    assert first.startswith("ZXLightControl v.1.0.0")
    assert first.count("Уменьшено до 50%") == 2
    assert all(len(text(e)) > 80 for e in entries.entries)


def test_plain_text_values_keep_their_brackets(site: FixtureSite) -> None:
    [titled] = served(site, "wellformed/atom10/entry_title_text_plain_brackets.xml").entries
    assert titled.title == "History of the <blink> tag"
    assert text(titled) == "History of the <blink> tag"  # the title-only text, parsed once
    [content] = served(site, "wellformed/atom10/entry_content_text_plain_brackets.xml").entries
    assert text(content) == "History of the <blink> tag"


def test_an_entry_has_the_language_it_declares_else_the_responses(site: FixtureSite) -> None:
    [entry] = served(site, "wellformed/lang/entry_content_xml_lang_inherit_2.xml").entries
    assert entry.language == "en"  # the feed says fr, the entry's content en
    [entry] = served(
        site, "wellformed/lang/http_content_language_entry_title_inherit_2.xml"
    ).entries
    assert entry.language == "en"  # from the Content-Language header only


def test_relative_links_resolve_against_the_responses_content_location(
    site: FixtureSite,
) -> None:
    [entry] = served(site, "wellformed/base/http_item_link_base_content_location.xml").entries
    assert entry.link == "http://example.com/relative/uri"


def test_a_channel_without_items_is_a_healthy_empty_feed(site: FixtureSite) -> None:
    parsed = served(site, "wellformed/cdf/channel_title.xml")
    assert parsed.entries == () and parsed.malformed is None


def test_json_feed_items_inherit_the_feeds_authors_and_lose_their_scripts(
    site: FixtureSite,
) -> None:
    second, first = served(site, "json/example.json").entries
    assert second.authors == ("me",)  # the feed's author
    assert first.authors == ("you",)  # its own
    assert text(second) == "This is a second item."
    assert text(first) == "Hello, world!"


def test_the_copied_files_keep_their_licence_and_the_comments_that_serve_them() -> None:
    """`served` reads each file's `Header:` lines; feedparser's licence travels with them."""
    assert "Kurt McKee" in (CORPUS / "LICENSE").read_text()
    files = sorted(Path(CORPUS).rglob("*.xml"))
    assert len(files) == 12
    for path in files:
        assert b"Description:" in path.read_bytes()[:1024], path
