"""The CLI's extract and tail commands, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from newswire.publish.message import load_schema
from newswire.tag.gazetteer import base_places
from newswire.tag.gazetteer_build import DATA_FILE
from tests.builders import LOOPBACK_ALLOWED
from tests.kafka_support import unique_prefix
from tests.site import DATA, FixtureSite

REPO_CONFIG = Path(__file__).parents[1] / "config"


def newswire(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI on the shipped config (by default allowing the loopback test server)."""
    if env is None:
        env = {**os.environ, **LOOPBACK_ALLOWED}
    return subprocess.run(
        [sys.executable, "-m", "newswire", "--config", str(REPO_CONFIG), *args],
        capture_output=True,
        input=stdin,
        timeout=120,
        env=env,
    )


def test_extract_file_prints_the_article_newswire_would_publish() -> None:
    result = newswire(
        "extract",
        str(DATA / "site" / "shafaq-albukamal-strikes.html"),
        "--url",
        "https://shafaq.com/en/Iraq-News/Drone-strikes?utm_source=x",
    )
    assert result.returncode == 0, result.stderr
    message = json.loads(result.stdout)
    jsonschema.validate(message, load_schema())
    assert (
        message["url"] == "https://shafaq.com/en/Iraq-News/Drone-strikes-hit-armed-faction-"
        "sites-in-Syria-s-al-Bukamal"
    )  # the page's canonical link, same site
    assert message["outlet"]["id"] == "shafaq-news"
    expected = (DATA / "expected" / "shafaq-albukamal-strikes.txt").read_text().rstrip("\n")
    assert message["text"] == expected
    assert "sy-albukamal" in {r["id"] for r in message["regions"]}


def test_extract_from_stdin_with_outlet_rules() -> None:
    html = (DATA / "site" / "shafaq-baghdad-green-zone.html").read_bytes()
    result = newswire("extract", "-", "--outlet", "shafaq-news", stdin=html)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["text"].startswith("A Katyusha rocket landed")


@pytest.mark.integration
def test_extract_url_fetches_the_page(site: FixtureSite) -> None:
    url = site.add_file(
        "/israel-news/article-801299", "site/jpost-northern-drill.html", "text/html; charset=utf-8"
    )
    result = newswire("extract", url, "--outlet", "jerusalem-post")
    assert result.returncode == 0, result.stderr
    expected = (DATA / "expected" / "jpost-northern-drill.txt").read_text().rstrip("\n")
    assert json.loads(result.stdout)["text"] == expected


@pytest.mark.integration
def test_tail_prints_the_topic(kafka_bootstrap: str) -> None:
    from kafka import KafkaProducer

    from newswire.publish.producer import ensure_topics
    from newswire.settings import KafkaSettings, TopicSettings

    topic = f"{unique_prefix()}.tail"
    ensure_topics(KafkaSettings(), kafka_bootstrap, TopicSettings(partitions=1), [topic])
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for n in range(3):
        producer.send(topic, key=b"k", value=json.dumps({"n": n}).encode()).get(timeout=20)
    producer.close()
    env = {"PATH": "", "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    result = newswire("tail", topic, "--from-beginning", "--max", "3", env=env)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"n": 0},
        {"n": 1},
        {"n": 2},
    ]


def test_version_and_help() -> None:
    assert newswire("--version").stdout.decode().startswith("newswire ")
    assert b"examples:" in newswire("--help").stdout


def test_extract_file_without_url_uses_the_pages_canonical_link_and_outlet() -> None:
    result = newswire("extract", str(DATA / "site" / "jpost-albukamal-crossing.html"))
    assert result.returncode == 0, result.stderr
    message = json.loads(result.stdout)
    jsonschema.validate(message, load_schema())
    assert message["url"] == "https://www.jpost.com/middle-east/article-801234"
    assert message["outlet"]["id"] == "jerusalem-post"  # so its trailer rule applied
    expected = (DATA / "expected" / "jpost-albukamal-crossing.txt").read_text().rstrip("\n")
    assert message["text"] == expected


def test_extract_decodes_a_file_with_the_charset_its_meta_declares() -> None:
    html = (DATA / "site" / "shafaq-ar-albukamal.html").read_text(encoding="utf-8")
    legacy = html.replace('<meta charset="utf-8">', '<meta charset="windows-1256">')
    result = newswire(
        "extract", "-", "--outlet", "shafaq-news", stdin=legacy.encode("cp1256", errors="ignore")
    )
    assert result.returncode == 0, result.stderr
    text = json.loads(result.stdout)["text"]
    assert text.startswith("أفاد مصدر محلي")
    assert "البوكمال" in text


def tail_message(n: int, outlet: str, language: str, regions: list[dict[str, object]]) -> bytes:
    return json.dumps(
        {
            "title": f"Story {n}",
            "url": f"https://x.test/{n}",
            "outlet": {"id": outlet, "name": outlet.title()},
            "language": language,
            "published_at": "2026-11-21T10:00:00Z",
            "text": "Body text.",
            "regions": regions,
            "watchlists": ["syria-iraq-border"] if n == 0 else [],
        }
    ).encode()


@pytest.mark.integration
def test_tail_filters_by_outlet_region_and_language(kafka_bootstrap: str) -> None:
    from kafka import KafkaProducer

    from newswire.publish.producer import ensure_topics
    from newswire.settings import KafkaSettings, TopicSettings

    topic = f"{unique_prefix()}.tail"
    ensure_topics(KafkaSettings(), kafka_bootstrap, TopicSettings(partitions=1), [topic])
    bukamal = {"id": "sy-albukamal", "name": "Al-Bukamal", "country": "SY", "parents": ["syria"]}
    baghdad = {"id": "iq-baghdad", "name": "Baghdad", "country": "IQ", "parents": ["iraq"]}
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for value in (
        tail_message(0, "shafaq-news", "en", [bukamal]),
        tail_message(1, "shafaq-news", "ar", [bukamal]),
        tail_message(2, "jerusalem-post", "en-GB", [baghdad]),
    ):
        producer.send(topic, value=value).get(timeout=20)
    producer.close()
    env = {"PATH": "", "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}

    def titles(*filters: str) -> list[str]:
        result = newswire("tail", topic, "--from-beginning", "--idle", "2", *filters, env=env)
        assert result.returncode == 0, result.stderr
        return [json.loads(line)["title"] for line in result.stdout.splitlines()]

    assert titles("--region", "syria") == ["Story 0", "Story 1"]  # a parent matches
    assert titles("--region", "SY", "--language", "en") == ["Story 0"]
    assert titles("--region", "syria-iraq-border") == ["Story 0"]  # a watchlist matches
    assert titles("--language", "en") == ["Story 0", "Story 2"]  # en-GB is English
    assert titles("--outlet", "jerusalem-post") == ["Story 2"]
    pretty = newswire("tail", topic, "--from-beginning", "--max", "1", "--pretty", env=env)
    lines = pretty.stdout.decode().splitlines()
    assert lines[:4] == [
        "2026-11-21T10:00:00Z  Shafaq-News  [en]",
        "  Story 0",
        "  https://x.test/0",
        "  regions: Al-Bukamal  watchlists: syria-iraq-border",
    ]


@pytest.mark.integration
def test_the_ssrf_guard_refuses_loopback_unless_allowed(site: FixtureSite) -> None:
    url = site.add_file("/a", "site/jpost-northern-drill.html", "text/html; charset=utf-8")
    refused = newswire("extract", url, env=dict(os.environ))  # the shipped config: guarded
    assert refused.returncode == 1
    assert b"blocked_address" in refused.stderr and b"loopback" in refused.stderr
    assert site.requests == []  # never connected


def test_tag_prints_regions_focus_and_watchlists() -> None:
    result = newswire(
        "tag", "-", "--title", "Strikes near Albukamal", stdin="قصف في البوكمال".encode()
    )
    assert result.returncode == 0, result.stderr
    tagged = json.loads(result.stdout)
    (town,) = tagged["regions"]
    assert (town["id"], town["mentions"], town["admin1"]) == ("sy-albukamal", 2, "SY-DY")
    assert [s["in"] for s in town["spans"]] == ["title", "text"]
    assert tagged["focus"]["place"] == "sy-albukamal"
    assert tagged["relevant"] and "syria-iraq-border" in tagged["watchlists"]


def test_build_gazetteer_writes_the_base(tmp_path: Path) -> None:
    out = tmp_path / "gazetteer.json.gz"
    result = newswire("build-gazetteer", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"{len(base_places())} places".encode() in result.stdout
    assert out.read_bytes() == DATA_FILE.read_bytes()
