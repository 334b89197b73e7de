"""The lead a page prints beside its headline, put back when extraction leaves it out; the
text after an empty inline element kept."""

from __future__ import annotations

from datetime import UTC, datetime

import trafilatura

from newswire.extract.extractor import extract_page
from newswire.extract.lead import (
    MAX_DESCRIPTIONS,
    MAX_REPAIRS,
    descriptions,
    keep_tails_of_empty,
    missing_lead,
)
from newswire.models import FetchedPage, OutletSpec
from newswire.settings import ExtractSettings

LEAD = (
    "Residents of the border town waited for hours at the crossing on Monday, as officials "
    "reopened it after a week of closures."
)
BODY = "".join(
    f"<p>Paragraph {i} of the report: the crossing handled trucks and buses, officials said, "
    f"and queues stretched for kilometres along the road to the town.</p>"
    for i in range(8)
)
OUTLET = OutletSpec("levant", "Levant Desk")
SETTINGS = ExtractSettings()


def story(description: str = LEAD, header: str = f'<p class="standfirst">{LEAD}</p>') -> str:
    return (
        f'<html lang="en"><head><title>Crossing reopens</title>'
        f'<meta name="description" content="{description}">'
        f'<meta property="og:type" content="article"></head><body>'
        f"<header><h1>Crossing reopens</h1>{header}</header>"
        f"<article>{BODY}</article><footer>Levant Desk 2026</footer></body></html>"
    )


def extracted(html: str) -> str:
    url = "https://levant.example/crossing"
    page = FetchedPage(url, url, html, datetime(2026, 11, 30, tzinfo=UTC))
    return extract_page(page, OUTLET, SETTINGS).text


def test_the_precision_pass_alone_leaves_the_lead_out() -> None:
    """The case the lead search is for: the lead sits in the page's header, which trafilatura's
    precision mode discards."""
    text = trafilatura.extract(story(), favor_precision=True, fast=True) or ""
    assert "Paragraph 7" in text and LEAD not in text


def test_a_lead_left_out_by_extraction_opens_the_text() -> None:
    text = extracted(story())
    assert text.startswith(LEAD + "\n\nParagraph 0")
    assert text.count(LEAD) == 1


def test_a_truncated_description_finds_the_whole_lead() -> None:
    text = extracted(story(description=LEAD[:90] + "..."))
    assert text.startswith(LEAD + "\n\n")


def test_no_lead_is_made_up_from_metadata_alone_or_from_a_link() -> None:
    assert LEAD not in extracted(story(header=""))  # only in the <meta>: nothing visible
    teaser = f'<p><a href="/other-story">{LEAD}</a></p>'
    assert LEAD not in extracted(story(header=teaser))  # a teaser linking elsewhere


def test_the_lead_is_the_block_holding_the_description_not_the_page_around_it() -> None:
    tree = trafilatura.load_html(story())
    described = descriptions(tree)
    assert described == (LEAD,)
    assert missing_lead(tree, described, "Paragraph 0 of the report") == LEAD
    assert missing_lead(tree, described, f"{LEAD}\nParagraph 0") is None  # already there
    long_block = f"<div><p>{LEAD}</p>{BODY}</div>"  # the description inside the article
    tree = trafilatura.load_html(story(header=long_block))
    assert missing_lead(tree, descriptions(tree), "") == LEAD  # its <p>, not the <div>


def test_no_lead_from_an_aside_or_from_a_block_the_size_of_an_article() -> None:
    assert LEAD not in extracted(story(header=f"<aside><p>{LEAD}</p></aside>"))
    long_description = LEAD + " " + "The queue grew longer every hour of the day. " * 60
    html = story(description=long_description, header=f"<div>{long_description}</div>")
    tree = trafilatura.load_html(html)
    assert missing_lead(tree, descriptions(tree), "Paragraph 0 of the report") is None


def test_a_page_gets_a_few_descriptions_searched_not_as_many_as_it_declares() -> None:
    metas = "".join(f'<meta name="description" content="{LEAD} {i}">' for i in range(1000))
    tree = trafilatura.load_html(f"<html><head>{metas}</head><body><p>{LEAD}</p></body></html>")
    assert descriptions(tree) == tuple(f"{LEAD} {i}" for i in range(MAX_DESCRIPTIONS))


def test_a_short_description_is_no_lead() -> None:
    tree = trafilatura.load_html(story(description="Crossing reopens"))
    assert descriptions(tree) == ()


def test_text_after_an_empty_inline_element_survives_the_precision_pass() -> None:
    """trafilatura's precision mode deletes an empty element with the text that follows it;
    emptied first, the words stay."""
    paragraph = (
        '<p>Qualified as "the guru of the majority"<strong></strong> by a leader of the party '
        "in a portrait published on Sunday, the commissioner keeps his allies close.</p>"
    )
    html = f"<html><body><article>{paragraph}{BODY}</article></body></html>"
    lost = trafilatura.extract(html, favor_precision=True, fast=True) or ""
    assert "by a leader of the party" not in lost  # the library's loss, still there
    tree = trafilatura.load_html(html)
    keep_tails_of_empty(tree)
    kept = trafilatura.extract(tree, favor_precision=True, fast=True) or ""
    assert 'majority" by a leader of the party in a portrait' in kept


def test_a_page_with_more_empty_elements_than_are_repaired_is_left_as_it_is() -> None:
    """Each removal joins text: past MAX_REPAIRS a page is left as trafilatura reads it."""
    for count, left in ((MAX_REPAIRS, 0), (MAX_REPAIRS + 1, MAX_REPAIRS + 1)):
        tree = trafilatura.load_html(
            "<html><body><p>" + "<b></b>word " * count + "</p></body></html>"
        )
        keep_tails_of_empty(tree)
        assert len(tree.xpath("//b")) == left
        assert tree.xpath("string(//p)").split() == ["word"] * count
