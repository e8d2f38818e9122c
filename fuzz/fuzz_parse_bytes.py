"""libFuzzer target: ``ingest.parse.parse_bytes``, the entry every file and download goes through:
sniffing, gzip, charset decoding, then the HTML, PDF, Markdown or text parser. The first byte picks
the suffix hint and content type, so the fuzzer reaches every branch of the sniffing."""

import contextlib

import atheris

with atheris.instrument_imports(include=["ingest", "core"]):
    from core.errors import ParseError
    from ingest.parse import parse_bytes

from _common import run

HINTS = (
    (".html", "text/html; charset=utf-8"),
    (".htm", None),
    (".pdf", "application/pdf"),
    (".txt", "text/plain; charset=iso-8859-1"),
    (".md", "text/markdown"),
    (None, None),
    (".php", "text/html; charset=windows-1252"),
    (".pdf", "text/html"),
)


def test_one_input(data: bytes) -> None:
    if not data:
        return
    suffix, content_type = HINTS[data[0] % len(HINTS)]
    with contextlib.suppress(ParseError):  # a rejected input is fine; anything else is a crash
        parse_bytes(data[1:], "fuzz", doc_id="0" * 16, suffix_hint=suffix, content_type=content_type)


if __name__ == "__main__":
    run(test_one_input)
