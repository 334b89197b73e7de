"""Feed fidelity on a corpus of feeds: newswire's parse and entry building next to plain
feedparser, both reading the same files served from 127.0.0.1 with each file's headers.

The corpus is feedparser's own test suite (2,107 files: RSS, Atom, CDF, JSON Feed, encodings,
entities, sanitisation, xml:base, xml:lang, ill-formed XML). Get it from
https://github.com/kurtmckee/feedparser (commit a22c5521, the `tests/` folder); a
`manifest.jsonl` of `{"rel", "headers": [[name, value], ...]}` lines gives the headers to
serve each file with (without it every file is served as application/xml, and a leading
comment `Header: value` line of a file is taken as a header, as feedparser's test server does).

For every file it prints: files read, files with entries (newswire / feedparser), entries
kept, distinct exceptions and hangs, and a field comparison of each entry against feedparser's
sanitised value turned into plain text: title, text, link, language, dates, authors, with the
mismatching files. Then (unless --no-run) `newswire run --once` polls every file as a feed on
the embedded broker and the messages it published are counted. Article links of the corpus
point at hosts that do not resolve here: the run's requests go through a proxy on 127.0.0.1
that refuses every other host, so nothing leaves this machine (not even a name lookup).

    .venv/bin/python bench/feed_corpus.py --corpus DIR [--no-run] [--show 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import lxml.html
from lxml.etree import ParserError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newswire.config import load_config  # noqa: E402
from newswire.errors import Reason  # noqa: E402
from newswire.extract.extractor import text_from_entry  # noqa: E402
from newswire.feeds.poll import parse_feed  # noqa: E402
from newswire.http.client import HttpFetcher  # noqa: E402
from newswire.http.fetch import fetch_feed  # noqa: E402
from newswire.models import (  # noqa: E402
    FeedDocument,
    FeedEntry,
    FeedSpec,
    OutletSpec,
    Validators,
)

HANG_SECONDS = 10
FIELDS = ("title", "text", "link", "language", "published", "updated", "authors")
_HEADER_COMMENT = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?<!--(.*?)-->", re.DOTALL)
_HEADER_LINE = re.compile(r"^\s*([A-Za-z][\w-]*):\s*(.*?)\s*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]*>")
_SCRIPTISH = ("javascript:", "location.href", "alert(", "document.")
_BLOCKS = frozenset(
    "p div li ul ol h1 h2 h3 h4 h5 h6 blockquote pre td th tr table br hr dd dt dl".split()
)


# ---------------------------------------------------------------- the corpus and its server


def corpus_files(corpus: Path) -> list[tuple[str, list[tuple[str, str]]]]:
    """(path relative to the corpus, headers to serve it with), from manifest.jsonl or the
    files' own header comments."""
    manifest = corpus / "manifest.jsonl"
    if manifest.exists():
        rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
        return [(row["rel"], [tuple(h) for h in row["headers"]]) for row in rows]
    files = []
    for path in sorted(corpus.rglob("*")):
        if path.is_file() and path.suffix in (".xml", ".rdf", ".json", ".atom", ".rss"):
            files.append((str(path.relative_to(corpus)), comment_headers(path.read_bytes())))
    return files


def comment_headers(body: bytes) -> list[tuple[str, str]]:
    """Headers named in a file's leading comment (feedparser's test convention)."""
    headers = [("Content-Type", "application/xml")]
    found = _HEADER_COMMENT.match(body[:4096])
    for line in found.group(1).decode("utf-8", "replace").splitlines() if found else ():
        pair = _HEADER_LINE.match(line)
        if pair and pair.group(1).lower() not in ("description", "expect"):
            headers = [h for h in headers if h[0].lower() != pair.group(1).lower()]
            headers.append((pair.group(1), pair.group(2)))
    return headers


@dataclass
class Server:
    """Serves the corpus on 127.0.0.1 and acts as an HTTP proxy that refuses every other
    host (counted), so a run that follows the corpus's links sends nothing off this machine."""

    corpus: Path
    headers: dict[str, list[tuple[str, str]]]
    refused: Counter[str] = field(default_factory=Counter)

    def start(self) -> str:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_CONNECT(self) -> None:  # https through the proxy
                outer.refused[self.path.rsplit(":", 1)[0]] += 1
                self.send_error(502, "refused: not this machine")

            def do_GET(self) -> None:
                target = urlsplit(self.path)
                if target.hostname not in (None, "127.0.0.1"):
                    outer.refused[target.hostname] += 1
                    self.send_error(502, "refused: not this machine")
                    return
                rel = target.path.lstrip("/")
                path = outer.corpus / rel
                if rel not in outer.headers or not path.is_file():
                    self.send_error(404)
                    return
                body = path.read_bytes()
                self.send_response(200)
                for name, value in outer.headers[rel]:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()


# ---------------------------------------------------------------- plain text of a reference


def plain(detail: Any) -> str:
    """feedparser's (sanitised) value as plain text, whitespace folded: text/plain as it is,
    HTML through lxml with blocks kept apart."""
    if not detail or not detail.get("value"):
        return ""
    value = str(detail["value"])
    if "html" not in str(detail.get("type", "")):
        return fold(value)
    try:
        root = lxml.html.fragment_fromstring(value, create_parent="div")
    except (ParserError, ValueError):
        return fold(value)
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCKS:
            element.tail = " " + (element.tail or "")
            element.text = " " + (element.text or "")
    return fold(root.text_content())


def fold(text: str) -> str:
    """Whitespace folded, and what plain text does not carry: C0 and C1 control characters
    (as spaces), soft hyphens, zero-width characters and direction marks."""
    return " ".join(_CONTROL.sub(" ", _INVISIBLE.sub("", text)).split())


def reference_text(entry: Any) -> str:
    """The entry's text as a message carries it: its content, else its summary, else (the
    documented fallback) its title."""
    contents = [c for c in entry.get("content", ()) if c.get("value")]
    if contents:
        text = plain(max(contents, key=lambda c: len(c["value"])))
    else:
        text = plain(entry.get("summary_detail"))
    return text or reference_title(entry)


def reference_title(entry: Any) -> str:
    """The title's value under its detail's type (feedparser can leave a nested element's
    title in `title_detail`, an image's, while `title` is the entry's own)."""
    return plain({**(entry.get("title_detail") or {}), "value": entry.get("title") or ""})


def is_empty(entry: Any) -> bool:
    """An entry with neither a link, a title nor text (only an author, a date, an id ...)."""
    link = str(entry.get("link") or "").strip().lower()
    has_link = link.startswith(("http://", "https://"))
    return not (has_link or reference_text(entry))


def reference_language(entry: Any, feed: Any) -> str | None:
    for detail in (
        *entry.get("content", ()),
        entry.get("summary_detail"),
        entry.get("title_detail"),
    ):
        if detail and detail.get("language"):
            return str(detail["language"]).lower()
    language = feed.get("language")
    return str(language).lower() if language else None


def reference_fields(entry: Any, feed: Any) -> dict[str, object]:
    link = str(entry.get("link") or "").strip()
    names = [a.get("name") for a in entry.get("authors", ()) if a.get("name")]
    if not names and entry.get("author"):
        names = [entry["author"]]
    return {
        "title": reference_title(entry),
        "text": reference_text(entry),
        "link": link if link.lower().startswith(("http://", "https://")) else None,
        "language": reference_language(entry, feed),
        # newswire's published falls back to the entry's own update time (RSS 1.0 dc:date)
        "published": as_utc(entry.get("published_parsed"))
        or as_utc(dict.get(entry, "updated_parsed")),
        "updated": as_utc(dict.get(entry, "updated_parsed")),
        "authors": tuple(fold(n) for n in names),
    }


def as_utc(parsed: Any) -> datetime | None:
    if not parsed:
        return None
    try:
        return datetime(*parsed[:6], tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def newswire_fields(entry: FeedEntry, outlet: OutletSpec) -> dict[str, object]:
    extracted = text_from_entry(entry, outlet, Reason.NO_LINK)
    return {
        "title": fold(entry.title),
        "text": fold(extracted.text),
        "link": entry.link or None,
        "language": entry.language.lower() if entry.language else None,
        "published": entry.published,
        "updated": entry.updated,
        "authors": tuple(fold(a) for a in entry.authors),
    }


def leaks(ours: dict[str, object], theirs: dict[str, object]) -> list[str]:
    """Markup or script text in newswire's title or text that feedparser's plain value lacks."""
    found = []
    for name in ("title", "text"):
        mine, ref = str(ours[name]), str(theirs[name])
        if _MARKUP.search(mine) and not _MARKUP.search(ref):
            found.append(f"{name}: markup")
        for marker in _SCRIPTISH:
            if marker in mine and marker not in ref:
                found.append(f"{name}: {marker}")
    return found


# ---------------------------------------------------------------- phase 1: parse every file


@dataclass
class Tally:
    files: int = 0
    fetch_failures: Counter[str] = field(default_factory=Counter)
    ours_failures: Counter[str] = field(default_factory=Counter)
    files_with_entries: int = 0
    ref_files_with_entries: int = 0
    entries: int = 0
    ref_entries: int = 0
    files_short: list[str] = field(default_factory=list)
    exceptions: Counter[str] = field(default_factory=Counter)
    exception_files: dict[str, str] = field(default_factory=dict)
    hangs: list[str] = field(default_factory=list)
    compared: Counter[str] = field(default_factory=Counter)
    equal: Counter[str] = field(default_factory=Counter)
    mismatches: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    leaks: list[str] = field(default_factory=list)
    unpaired: int = 0
    no_text_no_link: int = 0
    files_all_empty: int = 0
    seconds_ours: float = 0.0
    seconds_ref: float = 0.0


class Hang(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise Hang()


async def fetch_all(base: str, rels: list[str]) -> dict[str, object]:
    settings = load_config(ROOT / "config", environ={}).settings
    http = settings.http.model_copy(
        update={
            "allow_hosts": ("127.0.0.1",),
            "host_concurrency": 16,
            "host_min_delay": 0.0,
            "max_connections": 16,
        }
    )
    outlet = OutletSpec("corpus", "Corpus")
    slots = asyncio.Semaphore(16)
    results: dict[str, object] = {}
    async with HttpFetcher(http) as fetcher:

        async def one(rel: str) -> None:
            feed = FeedSpec(rel, f"{base}/{rel}", outlet, 300.0)
            async with slots:
                results[rel] = await fetch_feed(fetcher, feed, Validators())

        await asyncio.gather(*(one(rel) for rel in rels))
    return results


def pair(ours: tuple[FeedEntry, ...], ref: list[Any]) -> Iterator[tuple[FeedEntry, Any]]:
    """newswire's entries with feedparser's: by position when both kept all, else by id."""
    if len(ours) == len(ref):
        yield from zip(ours, ref, strict=True)
        return
    by_guid = {e.guid: e for e in ours if e.guid}
    by_link = {e.link: e for e in ours if e.link}
    for theirs in ref:
        mine = by_guid.get(theirs.get("id")) or by_link.get(theirs.get("link"))
        if mine is not None:
            yield mine, theirs


def compare_file(rel: str, document: FeedDocument, tally: Tally, base: str) -> None:
    started = time.perf_counter()
    reference = feedparser.parse(f"{base}/{rel}")
    tally.seconds_ref += time.perf_counter() - started
    ref_entries = list(reference.get("entries", ()))
    tally.ref_entries += len(ref_entries)
    tally.ref_files_with_entries += bool(ref_entries)
    signal.alarm(HANG_SECONDS)
    started = time.perf_counter()
    try:
        parsed = parse_feed(document)
    except Hang:
        tally.hangs.append(rel)
        return
    except Exception as exc:  # counted: the target is none
        name = f"{type(exc).__name__}: {str(exc)[:80]}"
        tally.exceptions[name] += 1
        tally.exception_files.setdefault(name, rel)
        return
    finally:
        signal.alarm(0)
        tally.seconds_ours += time.perf_counter() - started
    if not hasattr(parsed, "entries"):
        tally.ours_failures[parsed.reason.value] += 1  # type: ignore[union-attr]
        if ref_entries:
            tally.files_short.append(rel)
        return
    entries = parsed.entries  # type: ignore[union-attr]
    tally.entries += len(entries)
    tally.files_with_entries += bool(entries)
    keepable = [e for e in ref_entries if not is_empty(e)]
    tally.no_text_no_link += len(ref_entries) - len(keepable)
    if ref_entries and not keepable:
        tally.files_all_empty += 1
    if len(entries) < len(keepable):
        tally.files_short.append(rel)
    paired = list(pair(entries, keepable))
    tally.unpaired += len(keepable) - len(paired)
    for mine, theirs in paired:
        ours_f = newswire_fields(mine, document.feed.outlet)
        ref_f = reference_fields(theirs, reference.get("feed", {}))
        for leak in leaks(ours_f, ref_f):
            tally.leaks.append(f"{rel} {leak}")
        for name in FIELDS:
            if not ours_f[name] and not ref_f[name]:
                continue  # neither has it
            tally.compared[name] += 1
            if ours_f[name] == ref_f[name]:
                tally.equal[name] += 1
            else:
                tally.mismatches[name].append(f"{rel}: {ours_f[name]!r:.90} != {ref_f[name]!r:.90}")


def phase_one(files: list[tuple[str, list[tuple[str, str]]]], base: str) -> Tally:
    tally = Tally(files=len(files))
    documents = asyncio.run(fetch_all(base, [rel for rel, _ in files]))
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for rel, _ in files:
            document = documents[rel]
            if not isinstance(document, FeedDocument):
                tally.fetch_failures[getattr(document, "reason", "?").value] += 1  # type: ignore[union-attr]
                continue
            compare_file(rel, document, tally, base)
    finally:
        signal.signal(signal.SIGALRM, previous)
    return tally


def report(tally: Tally, show: int) -> None:
    print(f"files read: {tally.files} (fetch failures: {dict(tally.fetch_failures) or 0})")
    print(f"parse failures (newswire): {dict(tally.ours_failures) or 0}")
    distinct = len(tally.exceptions)
    print(f"exceptions: {sum(tally.exceptions.values())} ({distinct} distinct)")
    print(f"hangs (over {HANG_SECONDS} s): {len(tally.hangs)} {tally.hangs[:show]}")
    for name, count in tally.exceptions.most_common(show):
        print(f"  {count:4} {name}  e.g. {tally.exception_files[name]}")
    print(f"{'':28} {'newswire':>9} {'feedparser':>11}")
    with_entries = tally.files_with_entries, tally.ref_files_with_entries
    print(f"{'files with entries':28} {with_entries[0]:9} {with_entries[1]:11}")
    print(f"{'entries':28} {tally.entries:9} {tally.ref_entries:11}")
    seconds = tally.seconds_ours, tally.seconds_ref
    print(f"{'parse seconds':28} {seconds[0]:9.1f} {seconds[1]:11.1f}  (feedparser: + fetch)")
    print(
        f"entries with neither a link, a title nor text: {tally.no_text_no_link} (skipped); "
        f"files whose every entry is so: {tally.files_all_empty}"
    )
    print(f"files where newswire keeps fewer of the other entries: {len(tally.files_short)}")
    print(f"feedparser's entries not paired with one of newswire's: {tally.unpaired}")
    for rel in tally.files_short[:show]:
        print(f"  {rel}")
    print(f"markup or script leaks: {len(tally.leaks)}")
    for leak in tally.leaks[:show]:
        print(f"  {leak}")
    print(f"{'field':10} {'compared':>9} {'equal':>7} {'share':>7}")
    for name in FIELDS:
        compared, equal = tally.compared[name], tally.equal[name]
        share = equal / compared if compared else 1.0
        print(f"{name:10} {compared:9} {equal:7} {share:7.3f}")
    for name in FIELDS:
        for line in tally.mismatches[name][:show]:
            print(f"  {name}: {line}")


# ---------------------------------------------------------------- phase 2: run --once


def feeds_yaml(base: str, rels: list[str]) -> str:
    lines = ["outlets:", "  - id: corpus", "    name: Corpus", "    feeds:"]
    for index, rel in enumerate(rels):
        lines.append(f"      - url: {base}/{rel}")
        lines.append(f"        id: corpus.f{index:04d}")
    return "\n".join(lines) + "\n"


def run_once(base: str, rels: list[str], timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config"
        config.mkdir()
        shutil.copy(ROOT / "config" / "newswire.yaml", config)
        shutil.copy(ROOT / "config" / "regions.yaml", config)
        (config / "feeds.yaml").write_text(feeds_yaml(base, rels))
        env = {
            **os.environ,
            "NEWSWIRE_HTTP__ALLOW_HOSTS": "[127.0.0.1]",
            "NEWSWIRE_HTTP__PROXY": base,
            "NEWSWIRE_HTTP__HOST_MIN_DELAY": "0s",
            "NEWSWIRE_HTTP__HOST_CONCURRENCY": "16",
            "NEWSWIRE_HTTP__FEED_CONCURRENCY": "16",
            "NEWSWIRE_HTTP__CONNECT_TIMEOUT": "2s",
            "NEWSWIRE_STATE__DIR": str(Path(tmp) / "state"),
            "NEWSWIRE_KAFKA__EMBEDDED_LISTEN": "127.0.0.1:0",
            "NEWSWIRE_METRICS__PORT": "0",
            "NEWSWIRE_LOG__FORMAT": "json",
        }
        env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
        started = time.monotonic()
        try:
            done = subprocess.run(
                [sys.executable, "-m", "newswire", "--config", str(config), "run", "--once"],
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return {"hang": True, "seconds": timeout}
        summary: dict[str, Any] = {"exit": done.returncode, "seconds": time.monotonic() - started}
        tracebacks: Counter[str] = Counter()
        levels: Counter[str] = Counter()
        errors: Counter[str] = Counter()
        for line in done.stderr.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            levels[record.get("level", "?")] += 1
            if record.get("level") in ("error", "critical"):
                errors[f"{record.get('msg')}: {record.get('reason') or record.get('detail')}"] += 1
            if record.get("msg") == "run finished":
                summary.update(record.get("summary", {}))
            if record.get("exc"):
                tracebacks[str(record.get("msg", "?"))] += 1
        summary["log_levels"] = dict(levels)
        summary["errors_logged"] = dict(errors)
        summary["logged_exceptions"] = dict(tracebacks)
        if done.returncode != 0:
            summary["stderr_tail"] = done.stderr[-2000:]
        return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--corpus", type=Path, required=True, help="feedparser's tests/ folder (or its parent)"
    )
    parser.add_argument("--no-run", action="store_true", help="skip the `run --once` phase")
    parser.add_argument("--show", type=int, default=5, help="examples printed per finding")
    parser.add_argument("--run-timeout", type=float, default=900.0)
    args = parser.parse_args()
    files = corpus_files(args.corpus)
    server = Server(args.corpus, {rel: headers for rel, headers in files})
    base = server.start()
    try:
        report(phase_one(files, base), args.show)
        if not args.no_run:
            summary = run_once(base, [rel for rel, _ in files], args.run_timeout)
            print("run --once:", json.dumps(summary, default=str))
            refused = sum(server.refused.values())
            print(f"requests refused off this machine (the corpus's links): {refused}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
