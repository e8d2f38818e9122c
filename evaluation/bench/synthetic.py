"""A synthetic German corpus for the performance benchmark, grown from the sample corpus's passages.

Each synthetic passage is a real sample passage with variations: its sentences shuffled, the places it
names swapped for other places of the gazetteer, and its money amounts replaced by other amounts. The
text stays German funding prose with realistic vocabulary, lengths and place mentions (so filters and
the place boost have something to match), but the corpus can be made as large as wanted. Deterministic
for a given seed. Quality cannot be measured on it, only speed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from core.gazetteer import Gazetteer
from core.ids import passage_id_for
from core.models import DocInfo, DocType, Passage

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜ„0-9])")
_AMOUNT = re.compile(r"\b\d{1,3}(?:[.,]\d{1,3})?(?=\s*(?:Mio\.|Millionen|Milliarden|Euro|EUR|€))")
DOC_TYPES = (DocType.PRESS_RELEASE, DocType.PROJECT_PAGE, DocType.PROGRESS_REPORT, DocType.OTHER)
PASSAGES_PER_DOC = 8


@dataclass(frozen=True)
class SyntheticPassage:
    passage: Passage
    doc: DocInfo
    source_index: int  # which base passage it was grown from


def place_names(gazetteer: Gazetteer) -> list[str]:
    """Names of the Gemeinden and kreisfreie Städte, the places a passage may be moved to."""
    return sorted(p.name for p in gazetteer.places.values() if p.kind in ("gemeinde", "kreisfreie_stadt"))


def vary(text: str, rng: random.Random, places: Sequence[str], gazetteer: Gazetteer) -> str:
    """Shuffled sentences, swapped places, other amounts."""
    sentences = _SENTENCE.split(text)
    if len(sentences) > 2:
        head, body = sentences[0], sentences[1:]
        rng.shuffle(body)
        sentences = [head, *body]
    out = " ".join(sentences)
    mentions = gazetteer.find_places(out)
    for m in sorted(mentions, key=lambda m: -m.start):
        out = out[: m.start] + rng.choice(places) + out[m.end :]
    return _AMOUNT.sub(lambda _m: f"{rng.randint(1, 99)},{rng.randint(0, 9)}", out)


def generate(
    base: Sequence[str],
    n: int,
    gazetteer: Gazetteer,
    seed: int = 7,
    start: int = 0,
) -> Iterator[SyntheticPassage]:
    """Passages ``start`` .. ``n - 1`` of the synthetic corpus (the same for the same seed and base).

    Passage ``i`` grows from base passage ``i % len(base)``; the first ``len(base)`` are the base texts
    unchanged. Documents hold ``PASSAGES_PER_DOC`` passages with a type and a date drawn per document, one
    after the other with a blank line between them, as the chunker lays out a document (so the text around
    a passage can be read from its neighbours).
    """
    places = place_names(gazetteer)

    def text_of(i: int) -> str:
        rng = random.Random(seed * 1_000_003 + i)
        j = i % len(base)
        return base[j] if i < len(base) else vary(base[j], rng, places, gazetteer)

    offset = 0
    for i in range(start, n):
        ordinal = i % PASSAGES_PER_DOC
        if i == start:  # the document's passages before ``start`` set the offset
            offset = sum(len(text_of(k)) + 2 for k in range(i - ordinal, i))
        elif ordinal == 0:
            offset = 0
        text = text_of(i)
        d = i // PASSAGES_PER_DOC
        drng = random.Random(seed * 7_919 + d)
        doc_id = f"syn{d:07d}"
        doc = DocInfo(
            doc_id=doc_id,
            source=f"synthetic/{doc_id}.html",
            title=f"Synthetisches Dokument {d}",
            doc_type=DOC_TYPES[drng.randrange(len(DOC_TYPES))],
            date=f"{drng.randint(2015, 2025)}-{drng.randint(1, 12):02d}-{drng.randint(1, 28):02d}",
            language="de",
            source_name="synthetic",
        )
        passage = Passage(
            passage_id=passage_id_for(doc_id, ordinal),
            doc_id=doc_id,
            ordinal=ordinal,
            text=text,
            char_start=offset,
            char_end=offset + len(text),
        )
        offset += len(text) + 2
        yield SyntheticPassage(passage, doc, i % len(base))
