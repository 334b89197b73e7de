"""End to end: `newswire run --once` as a subprocess, feeds and pages from a real HTTP server,
articles read back from a real broker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from newswire.publish.message import load_schema
from tests.kafka_support import read_messages, read_topic, unique_prefix
from tests.site import DATA, FixtureSite

pytestmark = pytest.mark.integration
REPO_CONFIG = Path(__file__).parents[1] / "config"
RSS = "application/rss+xml; charset=utf-8"
PAGES = {
    "/middle-east/article-801234": "jpost-albukamal-crossing",
    "/israel-news/article-801299": "jpost-northern-drill",
    "/en/Iraq-News/Drone-strikes-hit-armed-faction-sites-in-Syria-s-al-Bukamal": "shafaq-albukamal-strikes",
    "/en/Security/Rocket-lands-near-Baghdad-s-Green-Zone-no-casualties": "shafaq-baghdad-green-zone",
}
OIL_PATH = "/en/Economy/Iraq-s-oil-exports-rise-in-October"  # not served: 404, feed text used
STRIKES = "/en/Iraq-News/Drone-strikes-hit-armed-faction-sites-in-Syria-s-al-Bukamal"


def serve_outlets(site: FixtureSite) -> dict[str, str]:
    feeds = {
        "jpost": site.add_file(
            "/rss/rssfeedsmiddleeastnews.aspx", "feeds/jpost-middle-east.xml", RSS, etag='"jp-v1"'
        ),
        "shafaq": site.add_file(
            "/en/rss", "feeds/shafaq-en.xml", RSS, last_modified="Fri, 20 Nov 2026 09:10:00 GMT"
        ),
        "shafaq_iraq": site.add_file("/en/rss/iraq", "feeds/shafaq-iraq.xml", RSS),
    }
    for path, name in PAGES.items():
        site.add_file(path, f"site/{name}.html", "text/html; charset=utf-8")
    return feeds


def write_config(tmp: Path, bootstrap: str, prefix: str, feeds: dict[str, str]) -> Path:
    """A config dir: the shipped regions and outlet cleaning rules, local feeds and topics."""
    config = tmp / "config"
    config.mkdir()
    (config / "regions.yaml").write_text((REPO_CONFIG / "regions.yaml").read_text())
    shipped = {
        o["id"]: o for o in yaml.safe_load((REPO_CONFIG / "feeds.yaml").read_text())["outlets"]
    }
    shafaq = dict(
        shipped["shafaq-news"],
        feeds=[{"url": feeds["shafaq"]}, {"url": feeds["shafaq_iraq"], "id": "shafaq-iraq"}],
    )
    jpost = dict(shipped["jerusalem-post"], feeds=[{"url": feeds["jpost"], "id": "jpost-me"}])
    (config / "feeds.yaml").write_text(yaml.safe_dump({"outlets": [shafaq, jpost]}))
    settings = yaml.safe_load((REPO_CONFIG / "newswire.yaml").read_text())
    settings["kafka"]["bootstrap_servers"] = bootstrap
    settings["topics"] = {"articles": f"{prefix}.news.articles", "partitions": 3}
    for route in settings["routes"]:
        route["topic"] = f"{prefix}.{route['topic']}"
    settings["state"] = {"dir": str(tmp / "state")}
    settings["metrics"] = {"host": "127.0.0.1", "port": 0}
    settings["extract"]["workers"] = 2
    settings["http"]["allow_hosts"] = ["127.0.0.1"]  # the test server; refused by default
    (config / "newswire.yaml").write_text(yaml.safe_dump(settings))
    return config


def run_once(config: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "newswire", "--config", str(config), "run", "--once"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    finished = [e for e in events if e["msg"] == "run finished"]
    assert finished, result.stderr[-4000:]
    summary: dict[str, Any] = finished[-1]["summary"]
    return summary


def expected_text(name: str) -> str:
    return (DATA / "expected" / f"{name}.txt").read_text(encoding="utf-8").rstrip("\n")


def test_run_once_publishes_each_article_once_clean_and_tagged(
    site: FixtureSite, kafka_bootstrap: str, tmp_path: Path
) -> None:
    prefix = unique_prefix()
    config = write_config(tmp_path, kafka_bootstrap, prefix, serve_outlets(site))

    summary = run_once(config)

    assert summary["published"] == 5
    assert summary["duplicates"] == 1
    records = read_topic(kafka_bootstrap, f"{prefix}.news.articles")
    messages = [json.loads(r.value) for r in records]
    by_path = {m["url"].removeprefix(site.base): m for m in messages}
    assert sorted(by_path) == sorted([*PAGES, OIL_PATH])
    assert len({m["id"] for m in messages}) == 5

    schema = load_schema()
    for record, message in zip(records, messages, strict=True):
        jsonschema.validate(message, schema, format_checker=jsonschema.FormatChecker())
        assert record.key == message["id"].encode()
        headers = dict(record.headers)
        assert headers["schema"] == b"newswire.article.v1"
        assert headers["source"] == message["outlet"]["id"].encode()
        assert headers["language"] == b"en"

    for path, name in PAGES.items():
        assert by_path[path]["text"] == expected_text(name), name
        assert by_path[path]["extraction"]["method"] == "page"
    oil = by_path[OIL_PATH]
    assert oil["text"] == expected_text("shafaq-oil-exports-feed-summary")
    extraction = oil["extraction"]
    assert extraction == {
        "method": "feed_summary",
        "fallback_reason": "http_404",
        "chars": len(oil["text"]),
        "trimmed_chars": 0,
        "mode": None,
        "quality": extraction["quality"],
        "page_type": None,
        "sources": extraction["sources"],
    }
    assert 0 < extraction["quality"] <= 0.5  # a summary, not the article
    assert extraction["sources"]["title"] == "feed" and "language" in extraction["sources"]

    crossing = by_path["/middle-east/article-801234"]
    assert crossing["authors"] == ["MIRIAM ADLER"]
    assert crossing["tags"] == ["Syria", "Iraq", "Iran", "Albukamal"]
    assert crossing["extras"] == {
        "photographer": "REUTERS/STRINGER",
        "item_id": "801234",
        "update_date": "Mon, 16 Nov 2026 18:05:00 GMT",
    }
    assert crossing["published_at"] == "2026-11-16T17:42:00Z"
    assert crossing["updated_at"] == "2026-11-16T18:05:00Z"
    assert crossing["image"] == "https://images.jpost.com/image/upload/f_auto/601122"

    def region_ids(path: str) -> set[str]:
        return {r["id"] for r in by_path[path]["regions"]}

    assert {
        "sy-albukamal",
        "iq-al-qaim",
        "sy-deir-ez-zor",
        "iq-an",
        "syria",
        "iraq",
    } <= region_ids("/middle-east/article-801234")
    assert {"sy-albukamal", "sy-deir-ez-zor", "syria"} <= region_ids(STRIKES)
    assert {"iq-baghdad", "iq-green-zone"} <= region_ids(
        "/en/Security/Rocket-lands-near-Baghdad-s-Green-Zone-no-casualties"
    )
    drill = {r["id"]: r for r in by_path["/israel-news/article-801299"]["regions"]}
    assert {"il-haifa", "il-galilee", "lebanon", "syria"} <= set(drill)
    assert drill["il-haifa"]["parents"] == ["il-ha", "israel", "middle-east"]
    assert "syria" not in region_ids(OIL_PATH) and "iq-basra" in region_ids(OIL_PATH)

    border = read_messages(kafka_bootstrap, f"{prefix}.news.region.syria-iraq-border")
    assert sorted(m["url"].removeprefix(site.base) for m in border) == sorted(
        ["/middle-east/article-801234", STRIKES]
    )
    israel = read_messages(kafka_bootstrap, f"{prefix}.news.region.israel-palestine")
    assert [m["url"].removeprefix(site.base) for m in israel] == ["/israel-news/article-801299"]

    # the tracking-parameter copy in the second feed was dropped before its page was fetched
    assert sum(1 for r in site.requests if r.path.startswith(STRIKES)) == 1

    pages_before = len([r for r in site.requests if not r.path.startswith(("/rss", "/en/rss"))])
    second = run_once(config)

    assert second["published"] == 0
    assert len(read_topic(kafka_bootstrap, f"{prefix}.news.articles")) == 5
    polls = [r for r in site.requests if r.path.startswith(("/rss", "/en/rss"))]
    assert polls[-3:] and any(r.headers.get("If-None-Match") == '"jp-v1"' for r in polls[-3:])
    assert any(r.headers.get("If-Modified-Since") for r in polls[-3:])
    pages_after = len([r for r in site.requests if not r.path.startswith(("/rss", "/en/rss"))])
    assert pages_after == pages_before  # the un-validated feed's entries were known: no fetch
