"""The page's metadata, read by trafilatura's readers without categories, tags and licence:
the same fields as trafilatura.extract_metadata gives."""

from __future__ import annotations

import pytest
import trafilatura

from newswire.extract.metadata import FIELDS, page_metadata
from tests.site import DATA


@pytest.mark.parametrize("name", sorted(p.stem for p in (DATA / "site").glob("*.html")))
def test_metadata_is_what_trafilatura_reads(name: str) -> None:
    html = (DATA / "site" / f"{name}.html").read_text(encoding="utf-8")
    tree = trafilatura.load_html(html)
    params = {"extensive_search": False, "original_date": True, "outputformat": "%Y-%m-%d"}
    url = f"https://fixtures.test/{name}"
    theirs = trafilatura.extract_metadata(tree, url, params, False).as_dict()
    assert page_metadata(tree, url, params) == {field: theirs.get(field) for field in FIELDS}
