"""The collection schema: how a passage and its document become a point payload, and back.

Both adapters use exactly these functions, so Edge and a Qdrant server hold identical payloads.
"""

from __future__ import annotations

import hashlib
from typing import Any

from core.errors import QueryError
from core.models import Amount, Annotations, DocInfo, DocType, Passage
from core.store.base import SearchFilter

# Payload fields with an index, by kind. Keyword indexes serve filters and facets.
KEYWORD_FIELDS = (
    "doc_id",
    "doc_type",
    "language",
    "source_name",
    "place_keys",
    "places",
    "programs",
    "organisations",
)
INTEGER_FIELDS = ("date_int", "year", "ordinal")
# The integer twin of ``place_keys`` (``place_code`` of each key). A place filter on an integer index
# costs the embedded engine about half of the same filter on the keyword index (measured at 100k
# passages: a filtered dense search of 3.3 instead of 6.3 ms), so the Edge store filters places on it
# when the index has it (see ``EdgeStore``); ``place_keys`` stays for facets and display.
PLACE_CODES = "place_codes"
# What a summary read (``StoreQuery.payload="summary"``) returns: enough to rank, boost, fold
# near-duplicates and count facets; the text and the rest come with ``Store.fetch``.
SUMMARY_FIELDS = (
    "passage_id",
    "doc_id",
    "ordinal",
    "place_keys",
    "programs",
    "source",
    "url",
    "title",
    "doc_type",
    "date",
    "language",
    "source_name",
    "near_duplicate_of",
)


def date_int(date: str | None) -> int | None:
    """``2021-12-03`` -> 20211203 (a sortable integer for range filters); None stays None."""
    if not date:
        return None
    digits = date[:10].replace("-", "")
    return int(digits) if len(digits) == 8 and digits.isdigit() else None


def place_code(key: str) -> int:
    """A place key as a stable 56-bit integer (blake2b of the key; never change it: indexes hold it)."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=7).digest(), "big")


def to_payload(passage: Passage, doc: DocInfo) -> dict[str, Any]:
    ann = passage.annotations
    return {
        "passage_id": passage.passage_id,
        "doc_id": passage.doc_id,
        "ordinal": passage.ordinal,
        "text": passage.text,
        "char_start": passage.char_start,
        "char_end": passage.char_end,
        "page": passage.page,
        "heading_path": list(passage.heading_path),
        "places": list(ann.places),
        "place_keys": list(ann.place_keys),
        PLACE_CODES: [place_code(k) for k in ann.place_keys],
        "programs": list(ann.programs),
        "organisations": list(ann.organisations),
        "amounts": [{"euros": a.euros, "text": a.text} for a in ann.amounts],
        "dates": list(ann.dates),
        "source": doc.source,
        "url": doc.url,
        "title": doc.title,
        "doc_type": doc.doc_type.value,
        "date": doc.date,
        "date_int": date_int(doc.date),
        "year": int(doc.date[:4]) if doc.date and doc.date[:4].isdigit() else None,
        "language": doc.language,
        "source_name": doc.source_name,
        "content_hash": doc.content_hash,
        "near_duplicate_of": doc.near_duplicate_of,
        "also_published_at": list(doc.also_published_at),
    }


def from_payload(payload: dict[str, Any]) -> tuple[Passage, DocInfo]:
    """Passage and document of a payload; a summary payload (``SUMMARY_FIELDS``) gives a passage
    without text and offsets (empty / 0)."""
    ann = Annotations(
        places=tuple(payload.get("places") or ()),
        place_keys=tuple(payload.get("place_keys") or ()),
        programs=tuple(payload.get("programs") or ()),
        organisations=tuple(payload.get("organisations") or ()),
        amounts=tuple(Amount(euros=float(a["euros"]), text=str(a["text"])) for a in payload.get("amounts") or ()),
        dates=tuple(payload.get("dates") or ()),
    )
    passage = Passage(
        passage_id=payload["passage_id"],
        doc_id=payload["doc_id"],
        ordinal=int(payload["ordinal"]),
        text=payload.get("text") or "",
        char_start=int(payload.get("char_start") or 0),
        char_end=int(payload.get("char_end") or 0),
        page=payload.get("page"),
        heading_path=tuple(payload.get("heading_path") or ()),
        annotations=ann,
    )
    doc = DocInfo(
        doc_id=payload["doc_id"],
        source=payload["source"],
        title=payload["title"],
        doc_type=DocType(payload.get("doc_type") or DocType.OTHER),
        date=payload.get("date"),
        language=payload.get("language"),
        url=payload.get("url"),
        source_name=payload.get("source_name"),
        content_hash=payload.get("content_hash") or "",
        near_duplicate_of=payload.get("near_duplicate_of"),
        also_published_at=tuple(payload.get("also_published_at") or ()),
    )
    return passage, doc


# Which payload key each SearchFilter field matches (any of its values). Both adapters translate
# a SearchFilter through these two functions only, so a filter means the same on Edge and a server.
FILTER_KEYS = (
    ("place_keys", "place_keys"),
    ("programs", "programs"),
    ("doc_types", "doc_type"),
    ("languages", "language"),
    ("source_names", "source_name"),
    ("doc_ids", "doc_id"),
)


def filter_terms(search_filter: SearchFilter, *, place_codes: bool = False) -> list[tuple[str, list[Any]]]:
    """The (payload key, accepted values) pairs of a filter's non-empty keyword fields; with
    ``place_codes`` places are matched on ``PLACE_CODES`` (the same points, a cheaper index)."""
    terms: list[tuple[str, list[Any]]] = []
    for field_name, key in FILTER_KEYS:
        values = getattr(search_filter, field_name)
        if values and key == "place_keys" and place_codes:
            terms.append((PLACE_CODES, [place_code(v) for v in values]))
        elif values:
            terms.append((key, list(values)))
    return terms


def filter_date_range(search_filter: SearchFilter) -> tuple[int | None, int | None]:
    """The inclusive ``date_int`` bounds of a filter; raises QueryError for a malformed date."""
    bounds = []
    for name in ("date_from", "date_to"):
        value = getattr(search_filter, name)
        bound = date_int(value)
        if value and bound is None:
            raise QueryError(f"{name} must be an ISO date YYYY-MM-DD, got {value!r}")
        bounds.append(bound)
    return bounds[0], bounds[1]
