"""libFuzzer target: the text normalisation (``normalize_text``, ``dehyphenate``,
``strip_running_lines``) on arbitrary Unicode, with its invariants checked: normalising is
idempotent and never leaves control characters, soft hyphens or more than one blank line."""

import atheris

with atheris.instrument_imports(include=["ingest"]):
    from ingest.normalize import dehyphenate, normalize_text, strip_running_lines

from _common import run

FORBIDDEN = {"\u00ad", "\u200b", "\ufeff", "\t", "\r", "\x00"}


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    text = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 4096))
    once = normalize_text(text)
    assert normalize_text(once) == once, "normalize_text is not idempotent"
    assert not FORBIDDEN & set(once), "normalize_text left an invisible or control character"
    assert "\n\n\n" not in once, "more than one blank line"
    dehyphenate(once)
    pages = [fdp.ConsumeUnicodeNoSurrogates(200) for _ in range(fdp.ConsumeIntInRange(0, 6))]
    stripped = strip_running_lines(pages)
    assert len(stripped) == len(pages), "strip_running_lines lost or added a page"


if __name__ == "__main__":
    run(test_one_input)
