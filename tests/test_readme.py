"""The README and docs stay true: the README's first lines give the two commands and every
link resolves; every setting (docs/configuration.md), metric and reason (docs/operations.md)
is documented; the message example (docs/messages.md) validates against the schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
from prometheus_client import REGISTRY

from newswire import metrics  # noqa: F401  (registers the metrics)
from newswire.errors import Reason
from newswire.publish.message import load_schema
from newswire.settings import Settings

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = ROOT / "docs"
CONFIGURATION = (DOCS / "configuration.md").read_text(encoding="utf-8")
OPERATIONS = (DOCS / "operations.md").read_text(encoding="utf-8")
MESSAGES = (DOCS / "messages.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    for section, field in Settings.model_fields.items():
        model = field.annotation
        keys = getattr(model, "model_fields", None)
        names = [f"{section}.{key}" for key in keys] if keys else [section]
        for name in names:
            assert f"| `{name}` |" in CONFIGURATION, f"{name} is not in the settings table"


def test_every_metric_and_reason_is_documented() -> None:
    for family in REGISTRY.collect():
        if family.name.startswith("newswire_"):
            documented = family.name + ("_total" if family.type == "counter" else "")
            assert f"`{documented}`" in OPERATIONS, documented
    for reason in Reason:
        assert f"`{reason.value}`" in OPERATIONS, reason


def test_example_message_validates_against_the_schema() -> None:
    block = re.search(
        r"Example \(text and regions shortened\):\n\n```json\n(.*?)\n```", MESSAGES, re.DOTALL
    )
    assert block is not None
    jsonschema.validate(json.loads(block.group(1)), load_schema())


def test_first_lines_give_the_run_and_test_commands() -> None:
    commands = [line.strip() for line in README.splitlines()[:10] if line.startswith("    ")]
    assert commands[0].endswith("newswire run")
    assert commands[1].endswith("pytest")
    ci = (Path(__file__).parents[1] / ".ci" / "run").read_text()
    assert commands[1] in ci


def test_every_relative_link_in_the_readme_and_docs_resolves() -> None:
    pages = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", text):
            assert (page.parent / target).is_file(), f"{page.name} links to {target}"
