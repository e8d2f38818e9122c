"""libFuzzer target: ``ingest.parse_pdf.parse_pdf`` on arbitrary bytes (ParseError is fine).

PDFium is native code: a segfault in it kills this process (libFuzzer reports it as a crash with the
input). In the pipeline such a crash is contained by the isolated parser worker (FAILED "parser
process died"), so a native crash found here is reported upstream, not a foerdersuche bug.
"""

import contextlib

import atheris

with atheris.instrument_imports(include=["ingest", "core", "pypdf"]):
    from core.errors import ParseError
    from ingest.parse_pdf import parse_pdf

from _common import run


def test_one_input(data: bytes) -> None:
    with contextlib.suppress(ParseError):  # a rejected input is fine; anything else is a crash
        parse_pdf(data, "fuzz.pdf", doc_id="0" * 16, max_pages=20)


if __name__ == "__main__":
    run(test_one_input)
