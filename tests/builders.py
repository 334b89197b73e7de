"""Small builders of model objects for unit tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from newswire.config import load_config
from newswire.models import Article, FeedEntry, FeedSpec, FetchedPage
from newswire.settings import ExtractSettings
from newswire.tag.tagger import Tagger
from newswire.worker import build_article
from tests.site import DATA

REPO_CONFIG = Path(__file__).parents[1] / "config"
# Tests serve feeds and pages from 127.0.0.1, which the SSRF guard refuses unless allowed;
# and an unexpected error crashes the test instead of being contained (errors.contain), so
# no bug hides behind the containment meant for a running service.
LOOPBACK_ALLOWED = {
    "NEWSWIRE_HTTP__ALLOW_HOSTS": "[127.0.0.1]",
    "NEWSWIRE_ERRORS__CONTAIN": "false",
}
CONFIG = load_config(REPO_CONFIG, environ=LOOPBACK_ALLOWED)
FEEDS = {f.outlet.id: f for f in CONFIG.feeds}
TAGGER = Tagger(CONFIG.gazetteer)


def fixture_article(name: str, outlet: str, link: str, **entry_fields: object) -> Article:
    """The article newswire builds from a fixture page served at `link`."""
    feed: FeedSpec = FEEDS[outlet]
    html = (DATA / "site" / f"{name}.html").read_text(encoding="utf-8")
    page = FetchedPage(link, link, html, datetime(2026, 11, 21, 12, 0, tzinfo=UTC))
    fields: dict[str, object] = {"feed_id": feed.id, "outlet_id": outlet, "link": link, "title": ""}
    fields.update(entry_fields)
    entry = FeedEntry(**fields)  # type: ignore[arg-type]
    return build_article(entry, page, None, feed, ExtractSettings(), TAGGER)
