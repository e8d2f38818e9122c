"""Bytes to str for text formats, robust against what the web actually serves.

Order of evidence: a byte-order mark; then bytes that are valid UTF-8 (whatever is declared, since
stale declarations are common); then the declared charset (the HTTP header's or the document's own,
with ISO-8859-1 read as its superset Windows-1252 as browsers do); and for invalid UTF-8 that is
declared UTF-8 or undeclared, UTF-8 where the bytes allow it and Windows-1252 for every invalid byte
(mixed files are common). Decoding never fails; what was done is reported for the document's warnings.
"""

from __future__ import annotations

import codecs
import re
import zlib
from typing import NamedTuple

from core.errors import ParseError
from core.models import FileStatus

GZIP_MAGIC = b"\x1f\x8b"

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Labels whose bytes browsers decode as Windows-1252 (WHATWG Encoding Standard).
_CP1252_LABELS = frozenset({"latin_1", "iso8859_1", "ascii", "cp1252", "iso8859_15"})
_SURROGATES = re.compile(r"[\udc80-\udcff]+")


class Decoded(NamedTuple):
    text: str
    encoding: str
    """The codec used, e.g. ``"utf-8"``, ``"cp1252"``, ``"utf-8+cp1252"`` (mixed)."""
    warning: str | None
    """Set when the bytes contradicted their declaration or needed a fallback."""


def gunzip(raw: bytes, max_bytes: int) -> bytes:
    """Decompress gzip data, refusing (not exhausting memory) when it inflates beyond ``max_bytes``."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(raw, max_bytes + 1)
    except zlib.error as err:
        raise ParseError(FileStatus.FAILED, f"corrupt gzip data: {err}") from err
    if len(data) > max_bytes:
        raise ParseError(FileStatus.SKIPPED, f"gzip data inflates beyond {max_bytes} bytes")
    return data


def codec_name(label: str | None) -> str | None:
    """Python's canonical codec name for a charset label, or None when unknown."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except (LookupError, ValueError):
        return None
    name = name.replace("-", "_")
    if name in _CP1252_LABELS:
        return "cp1252"
    return "utf-8" if name == "utf_8" else name


def _with_fallback(raw: bytes, codec: str) -> str:
    """Decode ``raw`` with ``codec``; bytes it cannot map are read as Windows-1252 (else Latin-1)."""

    def repair(match: re.Match[str]) -> str:
        bad = bytes(ord(ch) - 0xDC00 for ch in match.group())
        return "".join(_byte_as_cp1252(b) for b in bad)

    return _SURROGATES.sub(repair, raw.decode(codec, errors="surrogateescape"))


def _byte_as_cp1252(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D are undefined in cp1252
        return chr(byte)


def _utf16_without_bom(raw: bytes) -> str | None:
    """UTF-16 LE or BE when NUL bytes sit in every other position of mostly-ASCII text."""
    head = raw[:400]
    if len(head) < 8 or head.count(0) < len(head) // 3:
        return None
    odd_nuls, even_nuls = head[1::2].count(0), head[0::2].count(0)
    if odd_nuls > 0.9 * len(head[1::2]) and even_nuls == 0:
        return "utf-16-le"
    if even_nuls > 0.9 * len(head[0::2]) and odd_nuls == 0:
        return "utf-16-be"
    return None


def decode_text(raw: bytes, declared: str | None = None) -> Decoded:
    """Decode bytes of a text format; ``declared`` is the charset label the source claims, if any."""
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            return Decoded(_with_fallback(raw[len(bom) :], codec), codec, None)
    utf16 = _utf16_without_bom(raw)
    if utf16:
        return Decoded(raw.decode(utf16, errors="replace"), utf16, None)
    declared_codec = codec_name(declared)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        mismatch = declared_codec not in (None, "utf-8", "cp1252") or (declared_codec == "cp1252" and not raw.isascii())
        warning = f"declared charset {declared!r} but bytes are valid UTF-8" if mismatch else None
        return Decoded(text, "utf-8", warning)
    if declared_codec and declared_codec != "utf-8":
        return Decoded(_with_fallback(raw, declared_codec), declared_codec, None)
    warning = (
        "declared UTF-8 but bytes are invalid UTF-8" if declared_codec else "undeclared charset, not UTF-8"
    ) + "; invalid bytes read as Windows-1252"
    return Decoded(_with_fallback(raw, "utf-8"), "utf-8+cp1252", warning)
