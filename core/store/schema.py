"""The collection schema: how a passage and its document become a point payload, and back.

Both adapters use exactly these functions, so Edge and a Qdrant server hold identical payloads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from core.errors import QueryError
from core.models import Amount, Annotations, DocInfo, DocType, OcrPage, Passage
from core.store.base import SearchFilter

# What an index holds, by version; an index of an older version is not read (``OutdatedIndex``) but
# rebuilt from the kept raw bytes by ``foerdersuche reindex``:
#   1  (no marker) before December 2026: dense float32 or float16, place codes by level only when the
#      shard had them, no media type in the payload;
#   2  dense float16, place codes by level on every point, the document's media type in every payload.
SCHEMA_VERSION = 2

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
# Fields the store counts values of (``Store.facet``): the keywords and the year (its integer index).
FACET_FIELDS = (*KEYWORD_FIELDS, "year")
# Fields whose values get graph links of their own in the dense index (the engine's payload-aware HNSW:
# every value selecting more points than the full-scan threshold gets a small graph over its points,
# merged into the main one, so a filtered walk over the main graph stays connected). They are the
# fields a search filters on whose values select a middle share of the passages: a document type, a
# programme, a date range, a Kreis (the place filter's levels are added by each store: the Edge store
# filters on the place codes, a server on ``place_keys``). Not linked: fields no search filters on
# (places, organisations, year, ordinal), ``doc_id`` (a document is below the threshold), and fields
# whose values cover nearly every passage (language, source, the Land and region codes), for which the
# main graph is the filtered graph. Links on all 14 fields made the build at 100k passages 292 s, these
# with ``HNSW_M`` 32 75 s; HNSW recall@10 0.90 -> 0.98 unfiltered, 0.99 -> 0.95 with a Kreis filter
# (evaluation/reports/serving.md, section 6).
LINKED_FIELDS = ("doc_type", "programs", "date_int")
# Links per point of the main dense graph. With 16 (the engine's default) the benchmark's corpus (a few
# hundred passages varied into 100k, so tight groups of near-duplicates) fell apart into groups when the
# links of the unlinked fields above went away (HNSW recall@10 0.65 without any field links, 0.81 with
# m 32); m 32 with the links of ``LINKED_FIELDS`` keeps it connected (0.98), for a few seconds more
# build (56 -> 61 s without any field links).
HNSW_M = 32
# The integer twins of ``place_keys`` (``place_code`` of each key), one field per level of the key, so
# that a place filter checks only the codes of its own level: a passage carries up to ~20 keys (its
# Gemeinden, their Kreise, Regierungsbezirke, the Land, regions), but only a few Kreis codes. The
# engine checks the filter at every point it visits, so the check's cost is most of a filtered query:
# on 100k passages a Kreis filter over the codes of every level took 2.45 ms, over the Kreis codes
# alone 1.8 ms (dense, through the graph; 0.8 ms unfiltered). An integer index costs the engine about
# half of the same filter on the keyword index (3.3 instead of 6.3 ms), so the Edge store filters
# places on these fields when the shard has their indexes (see ``EdgeStore``); ``place_keys`` stays
# for facets, display and the remote adapter.
PLACE_CODE_FIELDS = {
    "gemeinde": "place_codes_gemeinde",  # 8-digit AGS
    "kreis": "place_codes_kreis",  # 5-digit: Kreise and kreisfreie Städte
    "region": "place_codes_region",  # Regierungsbezirk, Land, named regions (Ruhr, Rheinisches Revier)
}
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


def place_level(key: str) -> str:
    """The ``PLACE_CODE_FIELDS`` level of a place key."""
    if key.isdigit() and len(key) == 8:
        return "gemeinde"
    if key.isdigit() and len(key) == 5:
        return "kreis"
    return "region"


def place_code_payload(place_keys: Sequence[str]) -> dict[str, list[int]]:
    """The level fields of a passage: each level's codes (every field present, possibly empty)."""
    out: dict[str, list[int]] = {name: [] for name in PLACE_CODE_FIELDS.values()}
    for key in place_keys:
        out[PLACE_CODE_FIELDS[place_level(key)]].append(place_code(key))
    return out


def place_code_terms(place_keys: Sequence[str]) -> list[tuple[str, list[int]]]:
    """A place filter on the level fields: (field, codes) per level of the wanted keys; a point matches
    when any of them matches (a Kreis key matches the Gemeinden of the Kreis through their passages'
    Kreis codes, as it does through ``place_keys``)."""
    by_field: dict[str, list[int]] = {}
    for key in place_keys:
        by_field.setdefault(PLACE_CODE_FIELDS[place_level(key)], []).append(place_code(key))
    return list(by_field.items())


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
        "ocr": None if passage.ocr is None else {"confidence": passage.ocr.confidence, "flagged": passage.ocr.flagged},
        "places": list(ann.places),
        "place_keys": list(ann.place_keys),
        **place_code_payload(ann.place_keys),
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
        "media_type": doc.media_type,
    }


def _ocr_of(payload: dict[str, Any]) -> OcrPage | None:
    """The OCR mark of a passage's page (``payload["ocr"]``); None for a text layer or a payload
    written before OCR existed."""
    ocr = payload.get("ocr")
    if not ocr or payload.get("page") is None:
        return None
    return OcrPage(page=int(payload["page"]), confidence=float(ocr["confidence"]), flagged=bool(ocr["flagged"]))


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
        ocr=_ocr_of(payload),
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
        media_type=payload.get("media_type"),
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
    ``place_codes`` the places are left out: the caller matches them with ``place_code_terms``."""
    terms: list[tuple[str, list[Any]]] = []
    for field_name, key in FILTER_KEYS:
        values = getattr(search_filter, field_name)
        if values and not (key == "place_keys" and place_codes):
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
