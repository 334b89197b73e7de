"""Every CLI error a user can cause is one line naming the cause and the fix: exit 2 for
usage and config, 1 for what fails at run time, never a traceback. Run as a user runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from newswire.publish.broker import free_port
from tests.builders import REPO_CONFIG


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    code: int
    says: str  # in the one line of the error
    env: dict[str, str] = field(default_factory=dict)
    stdin: bytes = b""
    config: str = "shipped"  # shipped | bad-yaml | bad-feed | duplicates | none


NOBODY = f"127.0.0.1:{free_port()}"  # a port nothing listens on
CASES = {
    "unknown command": Case(("fetch",), 2, "invalid choice: 'fetch'"),
    "unknown option": Case(("run", "--forever"), 2, "unrecognized arguments: --forever"),
    "missing argument": Case(("tag",), 2, "the following arguments are required: text"),
    "bad number": Case(("tail", "t", "--max", "many"), 2, "invalid int value: 'many'"),
    "no config dir": Case(
        ("check",), 2, "pass --config DIR or set NEWSWIRE_CONFIG_DIR", config="none"
    ),
    "invalid YAML": Case(("check",), 2, "not valid YAML", config="bad-yaml"),
    "bad feed url": Case(("check",), 2, "'notaurl' is not an http(s) URL", config="bad-feed"),
    "duplicate outlets": Case(("check",), 2, "duplicate outlet id 'x'", config="duplicates"),
    "missing feed list": Case(
        ("--feeds", "/no/feeds.yaml", "check"), 2, "/no/feeds.yaml: cannot read"
    ),
    "bad env value": Case(
        ("check",),
        2,
        "NEWSWIRE_HTTP__MAX_REDIRECTS (overriding",
        {"NEWSWIRE_HTTP__MAX_REDIRECTS": "many"},
    ),
    "unknown env setting": Case(("check",), 2, "unknown setting", {"NEWSWIRE_HTTP__TIMEOUT": "5s"}),
    "bad env duration": Case(
        ("check",), 2, "'soon' is not a duration", {"NEWSWIRE_POLL__MIN_INTERVAL": "soon"}
    ),
    "bad env level": Case(("check",), 2, "log.level", {"NEWSWIRE_LOG__LEVEL": "loud"}),
    "unknown route region": Case(
        ("check",),
        2,
        "unknown region ids ['atlantis']",
        {"NEWSWIRE_ROUTES": "[{topic: t, match: [atlantis]}]"},
    ),
    "http2 on aiohttp": Case(
        ("check",), 2, "http2: true needs transport: httpx", {"NEWSWIRE_HTTP__HTTP2": "true"}
    ),
    "extract missing file": Case(("extract", "/no/page.html"), 2, "cannot read /no/page.html"),
    "extract without URL": Case(
        ("extract", "-"), 2, "stdin declares no URL of its own: pass --url", stdin=b"<p>x</p>"
    ),
    "extract unreachable": Case(
        ("extract", f"http://{NOBODY}/a"), 1, f"cannot fetch http://{NOBODY}/a: connect"
    ),
    "discover not a URL": Case(("discover", "example"), 1, "cannot fetch example: invalid_url"),
    "discover unreachable": Case(("discover", f"http://{NOBODY}/"), 1, "cannot fetch"),
    "tail no broker": Case(
        ("tail", "news.articles"),
        1,
        f"no Kafka broker reachable at {NOBODY}",
        {"KAFKA_BOOTSTRAP_SERVERS": NOBODY},
    ),
    "run no broker": Case(
        ("run",), 1, f"no Kafka broker reachable at {NOBODY}", {"KAFKA_BOOTSTRAP_SERVERS": NOBODY}
    ),
    "feeds without state": Case(
        ("feeds",), 1, "no state store at", {"NEWSWIRE_STATE__DIR": "/no/state"}
    ),
    "private address": Case(
        ("extract", "http://10.0.0.1/a"), 1, "blocked_address", {"NEWSWIRE_HTTP__ALLOW_HOSTS": "[]"}
    ),
}


def config_dir(kind: str, tmp: Path) -> Path:
    if kind == "shipped":
        return REPO_CONFIG
    if kind == "none":
        return tmp / "no-config"
    made = tmp / kind
    shutil.copytree(REPO_CONFIG, made)
    feeds = {
        "bad-yaml": "outlets: [unclosed\n",
        "bad-feed": "outlets:\n  - {id: x, name: X, feeds: [{url: notaurl}]}\n",
        "duplicates": "outlets:\n  - {id: x, name: X, feeds: [{url: 'http://a.test/f'}]}\n"
        "  - {id: x, name: Y, feeds: [{url: 'http://b.test/f'}]}\n",
    }[kind]
    (made / "feeds.yaml").write_text(feeds)
    return made


@pytest.mark.parametrize("name", list(CASES))
def test_an_error_is_one_line_naming_the_cause(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSWIRE_", "KAFKA_"))}
    env.update(
        {
            "NEWSWIRE_HTTP__ALLOW_HOSTS": "[127.0.0.1]",
            "NEWSWIRE_STATE__DIR": str(tmp_path / "state"),
        }
    )
    env.update(case.env)
    command = [
        sys.executable,
        "-m",
        "newswire",
        "--config",
        str(config_dir(case.config, tmp_path)),
        *case.args,
    ]
    result = subprocess.run(
        command, input=case.stdin, capture_output=True, timeout=120, env=env, cwd=tmp_path
    )
    errors = result.stderr.decode()
    assert "Traceback" not in errors, errors[-2000:]
    assert result.returncode == case.code, errors[-2000:]
    lines = [line for line in errors.splitlines() if line and not line.startswith("{")]
    assert any(case.says in line for line in lines), lines
    # argparse's usage lines aside, and the header of a list of config problems
    problem = [
        line for line in lines if not line.startswith(("usage:", " ", "newswire: config error:"))
    ]
    assert len(problem) == 1, problem
