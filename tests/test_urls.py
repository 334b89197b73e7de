"""Canonical URLs: every spelling of one page gives one id."""

from __future__ import annotations

import re

import pytest

from newswire.urls import article_id, canonical_url, same_site

BASE = "https://shafaq.com/en/Iraq-News/Drone-strikes"


@pytest.mark.parametrize(
    "variant",
    [
        BASE,
        BASE + "/",
        BASE + "#comments",
        BASE + "?utm_source=rss&utm_medium=feed&utm_campaign=x",
        BASE + "?fbclid=IwAR0abc&gclid=Cj0K",
        BASE + "?mc_cid=1&mc_eid=2&_ga=2.1",
        "HTTPS://Shafaq.COM/en/Iraq-News/Drone-strikes",
        "https://shafaq.com:443/en/Iraq-News/Drone-strikes",
        "https://shafaq.com/en/Iraq%2DNews/Drone-strikes",
        "  https://shafaq.com/en/Iraq-News/Drone-strikes  ",
    ],
)
def test_spellings_of_one_url_share_one_canonical_form(variant: str) -> None:
    assert canonical_url(variant) == BASE
    assert article_id(canonical_url(variant)) == article_id(BASE)


def test_content_parameters_are_kept_and_sorted() -> None:
    url = "http://example.com/story.php?utm_source=x&page=2&id=77"
    assert canonical_url(url) == "http://example.com/story.php?id=77&page=2"
    assert canonical_url("http://example.com:8080/a") == "http://example.com:8080/a"
    assert canonical_url("https://example.com") == "https://example.com/"


def test_article_id_is_32_hex_digits_and_stable() -> None:
    # pinned: ids are a contract with consumers and must never change between releases
    assert (
        article_id("https://www.jpost.com/middle-east/article-801234")
        == "a9e9164a44261f7c91cd860bc0f25d11"
    )
    value = article_id("https://www.jpost.com/middle-east/article-801234")
    assert re.fullmatch(r"[0-9a-f]{32}", value)
    assert value != article_id("https://www.jpost.com/middle-east/article-801235")


def test_same_site_ignores_www() -> None:
    assert same_site("https://www.jpost.com/a", "https://jpost.com/b")
    assert not same_site("https://www.jpost.com/a", "https://shafaq.com/a")
