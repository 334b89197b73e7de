"""Extraction: golden fixture pages, metadata, and the fallback chain."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import trafilatura

from newswire.config import load_config
from newswire.errors import Reason
from newswire.extract import extractor
from newswire.extract.extractor import extract_page, extract_text, text_from_entry
from newswire.extract.pageinfo import inspect_page
from newswire.models import ExtractionMethod, FeedEntry, FetchedPage, OutletSpec, PageType
from newswire.settings import ExtractSettings
from newswire.text import html_fragment_text
from tests.builders import fixture_article
from tests.site import DATA

REPO_CONFIG = Path(__file__).parents[1] / "config"
OUTLETS = {f.outlet.id: f.outlet for f in load_config(REPO_CONFIG, environ={}).feeds}
OUTLETS["generic"] = OutletSpec(id="generic", name="An outlet with no rules of its own")
# fixture page -> (outlet whose rules apply, page type)
GOLDEN = {
    "jpost-albukamal-crossing": ("jerusalem-post", PageType.ARTICLE),
    "jpost-northern-drill": ("jerusalem-post", PageType.ARTICLE),
    "jpost-syndicated-casualties": ("jerusalem-post", PageType.ARTICLE),
    "jpost-liveblog-north": ("jerusalem-post", PageType.LIVE_BLOG),
    "shafaq-albukamal-strikes": ("shafaq-news", PageType.ARTICLE),
    "shafaq-baghdad-green-zone": ("shafaq-news", PageType.ARTICLE),
    "shafaq-ar-albukamal": ("shafaq-news", PageType.ARTICLE),
    "shafaq-ar-oil-exports": ("shafaq-news", PageType.ARTICLE),
    "shafaq-ku-arms-arrest": ("shafaq-news", PageType.ARTICLE),
    "wordpress-kurdistan-budget": ("generic", PageType.ARTICLE),
    "amp-erbil-airport": ("generic", PageType.ARTICLE),
    "gulf-desk-qatar-talks": ("generic", PageType.ARTICLE),
    "hebrew-north-strikes": ("generic", PageType.ARTICLE),
    "rudaw-linked-paragraphs": ("rudaw", PageType.ARTICLE),
    "levant-video-drone-footage": ("generic", PageType.VIDEO),
}
SETTINGS = ExtractSettings()


def page(name: str, url: str = "https://example.com/story/1") -> FetchedPage:
    html = (DATA / "site" / f"{name}.html").read_text(encoding="utf-8")
    return FetchedPage(url=url, final_url=url, html=html, fetched_at=datetime.now(UTC))


def entry(**fields: object) -> FeedEntry:
    values: dict[str, object] = {
        "feed_id": "f",
        "outlet_id": "o",
        "link": "https://x.test/a",
        "title": "Rocket lands near Green Zone",
    }
    values.update(fields)
    return FeedEntry(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_page_text(name: str) -> None:
    expected = (DATA / "expected" / f"{name}.txt").read_text(encoding="utf-8").rstrip("\n")
    outlet, page_type = GOLDEN[name]
    result = extract_page(page(name), OUTLETS[outlet], SETTINGS)
    assert result.text == expected
    assert result.method is ExtractionMethod.PAGE
    assert result.page_type is page_type
    assert 0 < result.quality <= 1


@pytest.mark.parametrize(
    "name",
    sorted(
        n
        for n, (outlet, _) in GOLDEN.items()
        if OUTLETS[outlet].dateline_patterns or OUTLETS[outlet].trailer_patterns
    ),
)
def test_outlet_credits_go_without_a_cleaning_block(name: str) -> None:
    """A feed list written by a user names its outlets and nothing more: the dateline credit
    ("Shafaq News/ ", "Shafaq News – Baghdad") and the trailer ("As reported by The Jerusalem
    Post") still go, found by the outlet's name."""
    configured = OUTLETS[GOLDEN[name][0]]
    bare = OutletSpec(id=configured.id, name=configured.name)  # no `cleaning:` rules
    expected = (DATA / "expected" / f"{name}.txt").read_text(encoding="utf-8").rstrip("\n")
    assert extract_page(page(name), bare, SETTINGS).text == expected


def test_generic_credits_match_the_name_only_where_credits_stand() -> None:
    from newswire.extract.clean import clean_text

    names = ("The Jerusalem Post",)
    text = "Jerusalem Post/ Sirens sounded.\n\nThe Jerusalem Post reported that talks resumed."
    assert clean_text(text + "\n\nAs reported by The Jerusalem Post.", names=names) == (
        "Sirens sounded.\n\nThe Jerusalem Post reported that talks resumed."
    )
    body = "Officials said the Shafaq News – Baghdad office was hit."
    assert clean_text(body, names=("Shafaq News",)) == body  # not at the start: kept
    assert clean_text("AP/ x", names=("AP",)) == "AP/ x"  # a name this short is not trusted
    assert clean_text("Reuters contributed to this report.", names=("Reuters",)) == ""


def test_arabic_page_language_and_direction_survive() -> None:
    result = extract_page(page("shafaq-ar-albukamal"), OUTLETS["shafaq-news"], SETTINGS)
    assert result.language == "ar"
    assert result.title == "قصف يستهدف مواقع فصائل مسلحة في البوكمال"
    assert "\u200f" not in result.text and "\u202b" not in result.text


def test_page_metadata() -> None:
    result = extract_page(page("jpost-albukamal-crossing"), OUTLETS["jerusalem-post"], SETTINGS)
    assert result.title == "Blasts reported near Albukamal crossing after border reopening"
    assert result.authors == ("Miriam Adler",)
    assert result.published == datetime(2026, 11, 16, 17, 42, tzinfo=UTC)
    assert result.language == "en"
    assert result.canonical_url == "https://www.jpost.com/middle-east/article-801234"
    assert result.image == "https://images.jpost.com/image/upload/f_auto/601122"
    assert result.site_name == "The Jerusalem Post | JPost.com"
    assert result.description and result.description.startswith("Explosions were heard")


def test_short_page_falls_back_to_feed_content() -> None:
    thin = FetchedPage(
        "https://x.test/a",
        "https://x.test/a",
        "<html><body><p>Please enable JavaScript.</p></body></html>",
        datetime.now(UTC),
    )
    content = "<p>Shafaq News/ A rocket landed near the Green Zone.</p><p>No one was hurt.</p>"
    result = extract_text(
        thin,
        None,
        entry(content_html=content, summary="<p>short</p>"),
        OUTLETS["shafaq-news"],
        SETTINGS,
    )
    assert result.method is ExtractionMethod.FEED_CONTENT
    assert result.fallback_reason is Reason.TOO_LITTLE_TEXT
    assert result.text == "A rocket landed near the Green Zone.\n\nNo one was hurt."


def test_unfetchable_page_falls_back_to_summary_then_title() -> None:
    outlet = OutletSpec(id="o", name="O")
    summary = entry(summary="Rockets hit near the airport.<br/>Sirens sounded in the city.")
    result = extract_text(None, Reason.HTTP_404, summary, outlet, SETTINGS)
    assert (result.method, result.fallback_reason) == (
        ExtractionMethod.FEED_SUMMARY,
        Reason.HTTP_404,
    )
    assert result.text == "Rockets hit near the airport.\n\nSirens sounded in the city."
    bare = extract_text(None, Reason.TIMEOUT, entry(), outlet, SETTINGS)
    assert (bare.method, bare.text) == (ExtractionMethod.TITLE_ONLY, "Rocket lands near Green Zone")


def test_html_fragment_text_keeps_block_structure() -> None:
    assert html_fragment_text("<ul><li>one</li><li>two</li></ul>") == "one\ntwo"
    assert html_fragment_text("plain text") == "plain text"


def test_entry_text_drops_outlet_boilerplate() -> None:
    summary = entry(summary="<p>Shafaq News/ Iraq's exports rose.</p>")
    result = text_from_entry(summary, OUTLETS["shafaq-news"], Reason.HTTP_404)
    assert result.text == "Iraq's exports rose."


def test_title_only_text_is_normalised_and_a_blank_title_gives_no_text() -> None:
    outlet = OutletSpec(id="o", name="O")
    messy = extract_text(
        None,
        Reason.TIMEOUT,
        entry(title="  Rocket\u200b lands \n near\u00a0Baghdad "),
        outlet,
        SETTINGS,
    )
    assert (messy.method, messy.text) == (ExtractionMethod.TITLE_ONLY, "Rocket lands near Baghdad")
    blank = extract_text(None, Reason.TIMEOUT, entry(title=" \u200b\n "), outlet, SETTINGS)
    assert blank.text == ""


def test_an_index_page_is_flagged_and_never_taken_as_the_article() -> None:
    summary = "Local sources said at least three strikes hit a compound near the bridge."
    result = extract_text(
        page("shafaq-index-iraq-news"),
        None,
        entry(summary=summary),
        OUTLETS["shafaq-news"],
        SETTINGS,
    )
    assert result.page_type is PageType.INDEX
    assert (result.method, result.fallback_reason) == (
        ExtractionMethod.FEED_SUMMARY,
        Reason.NOT_AN_ARTICLE,
    )
    assert result.text == summary
    assert "Kirkuk council" not in result.text  # another story's teaser


def test_an_index_page_is_published_flagged_when_the_feed_has_only_a_title() -> None:
    """The detection can err (a story with a menu of linked headings): an article is never
    reduced to its title; the page's text goes out flagged `index`, at half quality."""
    result = extract_text(
        page("shafaq-index-iraq-news"), None, entry(), OUTLETS["shafaq-news"], SETTINGS
    )
    assert (result.method, result.page_type) == (ExtractionMethod.PAGE, PageType.INDEX)
    assert result.text and result.quality <= 0.5


def test_a_live_blog_is_flagged_with_its_entries_newest_first() -> None:
    result = extract_page(page("jpost-liveblog-north"), OUTLETS["jerusalem-post"], SETTINGS)
    assert result.page_type is PageType.LIVE_BLOG
    assert result.title == "Live updates: Rocket sirens sound across the Galilee"
    assert result.text.index("Schools stay open") < result.text.index("Sirens in Kiryat Shmona")
    assert result.quality <= 0.5  # a live blog is not one article


def test_a_video_page_is_flagged_and_its_short_text_gives_way_to_the_feed() -> None:
    longer = (
        "Footage circulated by local activists shows a drone strike on a convoy of trucks on "
        "the road between Abu Kamal and al-Mayadin. The Syrian Observatory said six people "
        "were killed, among them two drivers from Deir ez-Zor, and that the trucks carried "
        "fuel bound for the Iraqi border."
    )
    result = extract_text(
        page("levant-video-drone-footage"),
        None,
        entry(summary=longer),
        OUTLETS["generic"],
        SETTINGS,
    )
    assert result.page_type is PageType.VIDEO
    assert (result.method, result.fallback_reason) == (
        ExtractionMethod.FEED_SUMMARY,
        Reason.TOO_LITTLE_TEXT,
    )


def test_the_quality_gate_tries_the_fallback_extractors_then_recall() -> None:
    precise = extract_page(page("jpost-northern-drill"), OUTLETS["jerusalem-post"], SETTINGS)
    assert precise.mode == "precision"
    linked = extract_page(page("rudaw-linked-paragraphs"), OUTLETS["rudaw"], SETTINGS)
    assert linked.mode == "fallbacks"  # precision mode dropped the link-rich paragraphs
    assert "drought after three dry winters" in linked.text
    strict = SETTINGS.model_copy(
        update={"min_text_chars": 100_000}
    )  # no pass gets through: the longest wins
    every = extract_page(page("rudaw-linked-paragraphs"), OUTLETS["rudaw"], strict)
    assert every.mode == "fallbacks" and every.text == linked.text


def passes_giving(monkeypatch: pytest.MonkeyPatch, texts: dict[str, str]) -> list[str]:
    """trafilatura's passes replaced by ones giving `texts` by pass ("precision",
    "fallbacks" with neither side favoured, "recall"): what ran, in order, the passes by name
    and "metadata" where the page's metadata was read (newswire's reader; a pass that also
    had trafilatura read it is named "<pass> with metadata")."""
    real_pass, real_metadata = trafilatura.bare_extraction, extractor.page_metadata
    ran: list[str] = []

    def fake(tree: object, **options: object) -> dict[str, object]:
        name = "precision" if options["favor_precision"] else "recall"
        name = "fallbacks" if not options["favor_recall"] and name == "recall" else name
        ran.append(name + (" with metadata" if options["with_metadata"] else ""))
        document = real_pass(tree, **options)
        meta = document if isinstance(document, dict) else document.as_dict() if document else {}
        return {**meta, "text": texts[name]}

    def metadata(*args: Any) -> dict[str, Any]:
        ran.append("metadata")
        return real_metadata(*args)

    monkeypatch.setattr("newswire.extract.extractor.trafilatura.bare_extraction", fake)
    monkeypatch.setattr("newswire.extract.extractor.page_metadata", metadata)
    return ran


def paragraphs(count: int) -> str:
    return "\n".join(
        f"Paragraph {i} of the story, with words enough to read." for i in range(count)
    )


def test_a_text_in_doubt_gets_a_second_pass_that_wins_when_longer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under extract.doubt_chars, trafilatura's defaults (with its fallback extractors) run
    too, with the first pass's metadata (read once, never by trafilatura's passes); their
    text wins when it is a tenth longer."""
    short, longer = paragraphs(6), paragraphs(9)
    ran = passes_giving(monkeypatch, {"precision": short, "fallbacks": longer, "recall": ""})
    result = extract_page(page("jpost-northern-drill"), OUTLETS["jerusalem-post"], SETTINGS)
    assert ran == ["precision", "metadata", "fallbacks"]
    assert (result.mode, result.text.count("Paragraph")) == ("fallbacks", 9)
    assert result.title  # the first pass's metadata, kept

    ran = passes_giving(
        monkeypatch, {"precision": short, "fallbacks": short + " More.", "recall": ""}
    )
    result = extract_page(page("jpost-northern-drill"), OUTLETS["jerusalem-post"], SETTINGS)
    assert ran == ["precision", "metadata", "fallbacks"]
    assert (result.mode, result.text.count("Paragraph")) == ("precision", 6)  # not 10% longer

    ran = passes_giving(monkeypatch, {"precision": paragraphs(30), "fallbacks": "", "recall": ""})
    result = extract_page(page("jpost-northern-drill"), OUTLETS["jerusalem-post"], SETTINGS)
    assert ran == ["precision", "metadata"]  # not in doubt: one pass
    assert result.mode == "precision"


@pytest.mark.parametrize(
    ("name", "language", "detected"),
    [
        ("hebrew-north-strikes", "he", True),
        ("shafaq-ar-oil-exports", "ar", True),
        ("shafaq-ku-arms-arrest", "ckb", True),
        ("shafaq-ar-albukamal", "ar", False),
        ("wordpress-kurdistan-budget", "en", False),
    ],
)
def test_language_is_detected_when_the_page_does_not_declare_it(
    name: str, language: str, detected: bool
) -> None:
    declared = extract_page(page(name), OUTLETS["generic"], SETTINGS).language
    assert declared == (None if detected else language)
    # the outlet says English: detection comes before the outlet's default
    article = fixture_article(name, "shafaq-news", "https://x.test/a")
    source = "detected" if detected else "page"
    assert (article.language, dict(article.extraction.sources)["language"]) == (language, source)


def test_right_to_left_text_comes_out_without_bidi_controls() -> None:
    html = (DATA / "site" / "hebrew-north-strikes.html").read_text(encoding="utf-8")
    marked = html.replace("<p>מטוסי", "<p>\u200f\u202bמטוסי").replace("שחר.</p>", "שחר.\u202c</p>")
    fetched = FetchedPage("https://x.test/he", "https://x.test/he", marked, datetime.now(UTC))
    result = extract_page(fetched, OUTLETS["generic"], SETTINGS)
    assert result.text.startswith("מטוסי קרב")
    assert not any(ch in result.text for ch in "\u200e\u200f\u202a\u202b\u202c\u2066\u2069")


def test_page_metadata_from_json_ld_and_open_graph() -> None:
    amp = extract_page(page("amp-erbil-airport"), OUTLETS["generic"], SETTINGS)
    assert amp.authors == ("Karim Haddad", "Lena Murad")
    assert amp.published == datetime(2026, 11, 20, 20, 10, tzinfo=UTC)
    assert amp.updated == datetime(2026, 11, 21, 4, 45, tzinfo=UTC)  # dateModified, to UTC
    wordpress = extract_page(page("wordpress-kurdistan-budget"), OUTLETS["generic"], SETTINGS)
    assert wordpress.updated == datetime(2026, 11, 19, 14, 5, 12, tzinfo=UTC)
    assert wordpress.site_name == "Kurdistan Chronicle"
    assert wordpress.canonical_url == (
        "https://kurdistanchronicle.test/2026/11/19/erbil-baghdad-salary-transfers/"
    )


def test_feed_text_quality_is_capped_below_a_page() -> None:
    outlet = OutletSpec(id="o", name="O")
    summary = extract_text(
        None, Reason.HTTP_404, entry(summary="Rockets hit. " * 40), outlet, SETTINGS
    )
    title = extract_text(None, Reason.HTTP_404, entry(), outlet, SETTINGS)
    full = extract_page(page("jpost-albukamal-crossing"), OUTLETS["jerusalem-post"], SETTINGS)
    assert title.quality < summary.quality <= 0.5 < full.quality


def _teaser_menu(count: int = 8) -> str:
    return "".join(f'<h3><a href="/p/{i}">Section {i} of the site</a></h3>' for i in range(count))


STORY = "<p>" + "The ministry said on Tuesday that the new rules take effect in May. " * 4 + "</p>"


@pytest.mark.parametrize(
    "head",
    [
        '<meta property="og:type" content="Article">',  # case as some sites write it
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "x",}</script>',
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "a\tb"}</script>',
        '<script type="Application/LD+JSON">{"@graph": [{"@type": "WebPage"},'
        ' {"@type": "newsarticle"}]}</script>',
        '<meta property="article:published_time" content="2026-11-21T10:00:00Z">',
    ],
)
def test_a_story_with_a_menu_of_linked_headings_is_an_article(head: str) -> None:
    html = f"<html><head>{head}</head><body>{_teaser_menu()}{STORY}</body></html>"
    assert inspect_page(trafilatura.load_html(html)).page_type is PageType.ARTICLE


def test_long_prose_outweighs_linked_headings_and_a_teaser_list_stays_an_index() -> None:
    prose = STORY * 6  # well over 1,500 characters of paragraph text outside links
    html = f"<html><body>{_teaser_menu(12)}{prose}</body></html>"
    assert inspect_page(trafilatura.load_html(html)).page_type is PageType.ARTICLE
    teasers = "".join(
        f'<h3><a href="/s/{i}">Story {i}</a></h3><p><a href="/s/{i}">Read the story about '
        f"the ministry and the new rules that take effect in May, number {i}</a></p>"
        for i in range(12)
    )
    html = f"<html><body>{teasers}</body></html>"
    assert inspect_page(trafilatura.load_html(html)).page_type is PageType.INDEX
