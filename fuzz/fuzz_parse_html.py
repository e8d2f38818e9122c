"""libFuzzer target: ``ingest.parse_html.parse_html`` on arbitrary bytes (ParseError is fine)."""

import contextlib

import atheris

with atheris.instrument_imports(include=["ingest", "core"]):
    from core.errors import ParseError
    from ingest.parse_html import parse_html

from _common import run


def test_one_input(data: bytes) -> None:
    with contextlib.suppress(ParseError):  # a rejected input is fine; anything else is a crash
        parse_html(data, "fuzz.html", doc_id="0" * 16)


if __name__ == "__main__":
    run(test_one_input)
