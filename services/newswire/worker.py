"""The CPU half of the pipeline, run in worker processes: extract, tag and assemble an
article. What a worker needs (the region tagger, the language model, the extractor's lazily
built state) is loaded once: in the service process before it forks its workers, which then
share those pages, or in each worker where workers are spawned. (Feed parsing also runs in the
workers, straight from poll.parse_feed.)"""

from __future__ import annotations

import ctypes
import dataclasses
import hashlib
import multiprocessing
import os
import signal
import sys
from datetime import UTC, datetime
from urllib.parse import urlsplit

from newswire.errors import Reason
from newswire.extract.extractor import NOTHING_LEARNED, extract_text, language_code
from newswire.extract.language import detect_language
from newswire.models import (
    Article,
    FeedEntry,
    FeedSpec,
    FetchedPage,
    Gazetteer,
    LearnedBoilerplate,
    OutletSpec,
    PageText,
)
from newswire.pool import limit_memory
from newswire.settings import ExtractSettings
from newswire.sketch import signature
from newswire.tag.tagger import Tagger
from newswire.text import one_line
from newswire.urls import article_id, canonical_url, entry_identity, is_http_url, same_site

_tagger: Tagger | None = None
PR_SET_PDEATHSIG = 1  # linux/prctl.h
MB = 1 << 20


WARM_UP_PAGE = (
    "<html><head><title>Warm-up report</title></head><body><article><h1>Warm-up report</h1>"
    + "<p>Officials in Baghdad said on Monday that the talks on the water agreement with "
    "Ankara and Damascus would resume next week after a pause of several months.</p>"
    * 4
    + "</article></body></html>"
)


def load_models(gazetteer: Gazetteer, settings: ExtractSettings) -> None:
    """Build this process's tagger and put one made-up article through every step (page
    extraction, language detection, tagging, sketch) so each library loads its models now."""
    global _tagger
    _tagger = Tagger(gazetteer)
    outlet = OutletSpec(id="warm-up", name="Warm-up")
    link = "http://warm-up.invalid/report"
    feed = FeedSpec(id="warm-up", url=link, outlet=outlet, interval_s=60.0)
    entry = FeedEntry(feed_id=feed.id, outlet_id=outlet.id, link=link, title="")
    page = FetchedPage(link, link, WARM_UP_PAGE, _now())
    build_article(entry, page, None, feed, settings, _tagger)


def init_forked_worker(settings: ExtractSettings) -> None:
    """Initializer of a worker forked from a service that loaded the models: tie it to the
    service, cap its memory."""
    tie_to_service()
    limit_memory(settings.memory_limit_mb * MB)


def init_spawned_worker(gazetteer: Gazetteer, settings: ExtractSettings) -> None:
    """Initializer of a spawned worker: tie it to the service, load the models, cap its
    memory (counted from what the models take)."""
    tie_to_service()
    load_models(gazetteer, settings)
    limit_memory(settings.memory_limit_mb * MB)


def tie_to_service() -> None:
    """Initializer of every worker (a forked one inherits the models): end with the service;
    leave stop signals to the service, which stops the pool in order. A worker has its own
    process group, so a SIGTERM or Ctrl-C sent to the service's group (by `timeout`, a
    terminal, a process manager) reaches only the service; SIGTERM is back to its default,
    which is how the pool ends a worker."""
    die_with_parent()
    os.setpgrp()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def die_with_parent() -> None:
    """On Linux, have the kernel end this worker when the service process dies, even by
    SIGKILL (a pool's workers otherwise outlive it, idle, holding their memory)."""
    if not sys.platform.startswith("linux"):
        return
    parent = multiprocessing.parent_process()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent is not None and os.getppid() != parent.pid:
        os._exit(0)  # the service died before the request was made


def worker_tagger() -> Tagger:
    """This process's tagger (load_models must have run here or before the fork)."""
    if _tagger is None:
        raise RuntimeError("worker not initialised: call load_models(gazetteer, settings) first")
    return _tagger


def process_entry(
    entry: FeedEntry,
    page: FetchedPage | None,
    failure: Reason | None,
    feed: FeedSpec,
    settings: ExtractSettings,
    learned: LearnedBoilerplate = NOTHING_LEARNED,
) -> Article:
    """Extract the text (the outlet's `learned` boilerplate removed), tag its regions and
    assemble the Article (in a worker process)."""
    return build_article(entry, page, failure, feed, settings, worker_tagger(), learned)


def build_article(
    entry: FeedEntry,
    page: FetchedPage | None,
    failure: Reason | None,
    feed: FeedSpec,
    settings: ExtractSettings,
    tagger: Tagger,
    learned: LearnedBoilerplate = NOTHING_LEARNED,
) -> Article:
    """Extract, tag and assemble; feed fields win where the feed has them, and the message
    says where each came from."""
    extracted = extract_text(page, failure, entry, feed.outlet, settings, learned)
    language, language_source = choose_language(entry, feed, extracted)
    extracted = dataclasses.replace(
        extracted, sources=metadata_sources(entry, extracted, language_source)
    )
    title = entry.title or extracted.title or ""
    if entry.link:
        url = choose_url(entry.link, page, extracted)
        ident, source_url = article_id(url), entry.link
    else:  # the feed's own item: its URL is the feed's, its id the entry's identity
        url = source_url = feed.url
        ident = article_id(entry_identity(entry))
    return Article(
        id=ident,
        url=url,
        source_url=source_url,
        outlet=feed.outlet,
        feed_url=feed.url,
        title=title,
        text=extracted.text,
        extraction=extracted,
        tagging=tagger.tag(
            title, extracted.text, home=feed.outlet.country, home_area=feed.outlet.area
        ),
        content_hash="sha256:" + hashlib.sha256(extracted.text.encode("utf-8")).hexdigest(),
        fetched_at=page.fetched_at if page else _now(),
        guid=entry.guid,
        authors=entry.authors or extracted.authors,
        tags=entry.tags,
        published=entry.published or extracted.published,
        updated=entry.updated or extracted.updated,
        language=language,
        summary=_summary(entry, extracted),
        image=entry.image or extracted.image,
        extras=entry.extras,
        media=entry.media,
        sketch=signature(extracted.text),
    )


def choose_language(
    entry: FeedEntry, feed: FeedSpec, extracted: PageText
) -> tuple[str | None, str]:
    """The article's language and where it came from: what the page declares, what the feed
    declares, what the text reads as, and last the outlet's configured language."""
    if extracted.language:
        return language_code(extracted.language), "page"
    if entry.language:
        return language_code(entry.language), "feed"
    detected = detect_language(extracted.text)
    if detected:
        return language_code(detected), "detected"
    return language_code(feed.outlet.language), "outlet"


def metadata_sources(
    entry: FeedEntry, extracted: PageText, language_source: str
) -> tuple[tuple[str, str], ...]:
    """(field, "feed" | "page" | ...) for the metadata fields set: the feed's own fields win
    (they are the outlet's deliberate metadata), the page fills the gaps."""
    pairs = (
        ("title", entry.title, extracted.title),
        ("authors", entry.authors, extracted.authors),
        ("published", entry.published, extracted.published),
        ("updated", entry.updated, extracted.updated),
        ("image", entry.image, extracted.image),
        ("summary", entry.summary, extracted.description),
    )
    sources = [(name, "feed" if ours else "page") for name, ours, theirs in pairs if ours or theirs]
    return (*sources, ("language", language_source))


def choose_url(link: str, page: FetchedPage | None, extracted: PageText) -> str:
    """The article's canonical URL: the page's own canonical link when it is on the same site
    as the page, else the URL the page was finally served from, else the feed's link."""
    landed = page.final_url if page else link
    declared = extracted.canonical_url
    if declared and is_http_url(declared) and same_site(declared, landed):
        canonical = canonical_url(declared)
        if urlsplit(canonical).path not in ("", "/"):
            return canonical
    return canonical_url(landed)


def _summary(entry: FeedEntry, extracted: PageText) -> str | None:
    if entry.summary:
        text = one_line(entry.summary)
        if text:
            return text
    return extracted.description


def _now() -> datetime:
    return datetime.now(UTC)
