"""``read_context``: an answer reads the text around its passages by point id, a few neighbours at a time,
and gets the same windows and sentences as from the whole document (which it reads only when the
index has a gap below a passage)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from core.ids import passage_id_for
from core.models import DocInfo, DocType, Hit, Passage
from core.store import IndexPoint, Store
from core.store.base import StoredHit, StoreQuery
from core.store.edge import EdgeStore
from search.answer import WINDOW_AFTER, WINDOW_BEFORE, DocumentText, _sentences, read_context
from tests.core.test_store_contract import DIM, index_point

SENTENCES = (
    "Die Stadt Hamm erhält 4,2 Mio. Euro aus dem 5-StandorteProgramm.",
    "Das Vorhaben beginnt am 1. März 2024 und endet 2027.",
    "Projektträger ist die Wirtschaftsförderung Kreis Unna.",
    "Kurz.",
    "| Maßnahme | Förderung | Jahr |",
    "Davon trägt das Land 80 Prozent, den Rest die Kommune.",
    "Insgesamt stehen im Aufruf 45 Mio. Euro bereit.",
)


def laid_out(doc_id: str, texts: Sequence[str], gaps: Sequence[int], start: int = 0) -> list[Passage]:
    """Passages of ``texts`` one after the other from offset ``start``, ``gaps[i]`` characters after passage i."""
    passages, at = [], start
    for ordinal, (text, gap) in enumerate(zip(texts, gaps, strict=True)):
        passages.append(Passage(passage_id_for(doc_id, ordinal), doc_id, ordinal, text, at, at + len(text)))
        at += len(text) + gap
    return passages


def info_of(doc_id: str, title: str = "Sachstandsbericht") -> DocInfo:
    return DocInfo(
        doc_id=doc_id,
        source=f"{doc_id}.pdf",
        title=title,
        doc_type=DocType.PROGRESS_REPORT,
        date="2024-06-30",
        language="de",
    )


def document(doc_id: str, n: int, seed: int) -> tuple[list[Passage], DocInfo]:
    """``n`` passages of one document with real offsets: lengths from one line to many sentences, gaps of
    one character (a cut sentence) or a paragraph break between them."""
    rng = random.Random(seed)
    start = rng.choice((0, 3))
    texts = [" ".join(rng.choice(SENTENCES) for _ in range(rng.choice((1, 1, 2, 4, 8, 14)))) for _ in range(n)]
    return laid_out(doc_id, texts, [rng.choice((1, 2, 3)) for _ in range(n)], start), info_of(doc_id)


class CountingStore:
    """The store as ``read_context`` sees it, counting what it reads."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.fetched: list[int] = []
        self.whole: list[str] = []

    def fetch(self, point_ids: Sequence[str]) -> dict[str, tuple[Passage, DocInfo]]:
        self.fetched.append(len(point_ids))
        return self.store.fetch(point_ids)

    def passages_of(self, doc_id: str) -> list[tuple[Passage, DocInfo]]:
        self.whole.append(doc_id)
        return self.store.passages_of(doc_id)

    def query_batch(self, queries: Sequence[StoreQuery]) -> list[list[StoredHit]]:
        return self.store.query_batch(queries)


def store_of(tmp_path: Path, points: Sequence[IndexPoint]) -> EdgeStore:
    store = EdgeStore(tmp_path / "index" / "passages")
    store.ensure_collection(DIM)
    store.upsert(points)
    return store


def sentences(hits: Sequence[Hit], documents: dict[str, DocumentText]) -> list[tuple[int, str, str, str]]:
    return [(s.doc_text_start, s.text, s.context, s.header) for s in _sentences(hits, len(hits), documents)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_windows_and_sentences_are_the_whole_documents(tmp_path: Path, seed: int) -> None:
    long_doc, info = document("bericht", 80, seed)
    short_doc, short_info = document("meldung", 3, seed + 10)
    store = CountingStore(
        store_of(tmp_path, [index_point(p, info) for p in long_doc] + [index_point(p, short_info) for p in short_doc])
    )
    picked = [0, 1, 2, 17, 40, 41, 78, 79]
    hits = [Hit(long_doc[o], info, 1.0) for o in picked] + [Hit(short_doc[1], short_info, 0.5)]

    context = read_context(store, hits)  # type: ignore[arg-type]

    whole = {"bericht": DocumentText.of(long_doc), "meldung": DocumentText.of(short_doc)}
    for hit in hits:
        p, doc = hit.passage, whole[hit.passage.doc_id]
        around = context[p.passage_id]
        assert around.holds(p)
        lo, hi = max(0, p.char_start - WINDOW_BEFORE), min(doc.end, p.char_end + WINDOW_AFTER)
        assert around.start <= lo and around.end >= hi, (p.ordinal, around.start, around.end, lo, hi)
        assert around.text[lo - around.start : hi - around.start] == doc.text[lo:hi]
        assert around.end == doc.end or hi < around.end  # the window ends at the text's end only at the document's
    assert sentences(hits, context) == sentences(hits, whole)
    assert store.whole == []  # every passage was read by id ...
    assert sum(store.fetched) < 80  # ... and not the whole report
    assert len(store.fetched) <= 3


def test_a_gap_below_a_passage_reads_its_document_whole(tmp_path: Path) -> None:
    passages, info = document("lueckig", 12, 5)
    kept = [p for p in passages if p.ordinal != 6]  # an index from elsewhere: passage 6 is missing
    store = CountingStore(store_of(tmp_path, [index_point(p, info) for p in kept]))
    hit = Hit(passages[8], info, 1.0)
    assert passages[8].char_start - passages[6].char_end < WINDOW_BEFORE  # the window reaches over the gap

    context = read_context(store, [hit])  # type: ignore[arg-type]

    assert store.whole == ["lueckig"]
    whole = DocumentText.of(kept)
    assert sentences([hit], context) == sentences([hit], {"lueckig": whole})


def test_the_documents_first_passage_starts_the_text_at_offset_0(tmp_path: Path) -> None:
    passages, info = document("anfang", 4, 9)
    passages = [
        Passage(p.passage_id, p.doc_id, p.ordinal, p.text, p.char_start + 5, p.char_end + 5) for p in passages
    ]  # a heading the chunker dropped before the first passage
    store = store_of(tmp_path, [index_point(p, info) for p in passages])
    context = read_context(store, [Hit(passages[1], info, 1.0)])
    around = context[passages[1].passage_id]
    assert around.start == 0 and around.text == DocumentText.of(passages).text[: around.end]


def test_a_window_that_ends_exactly_at_a_passages_end_is_read_as_in_the_whole_document(tmp_path: Path) -> None:
    # the unit ending exactly at the window's end is cut by the window inside a document, kept at its end
    first = "Der Kreis Unna erhält 4,2 Mio. Euro."
    filler = "Weitere Mittel fließen in die Erschließung der Fläche"
    second = filler + " " + "x" * (WINDOW_AFTER - 2 - len(filler) - 2) + "."
    passages = laid_out("genau", [first, second, "Das Vorhaben endet 2027."], [2, 2, 2])
    assert passages[1].char_end == passages[0].char_end + WINDOW_AFTER
    info = info_of("genau", "Bericht")
    store = store_of(tmp_path, [index_point(p, info) for p in passages])
    hit = Hit(passages[0], info, 1.0)
    context = read_context(store, [hit])
    assert context[passages[0].passage_id].end > passages[1].char_end  # read past the window's end
    assert sentences([hit], context) == sentences([hit], {"genau": DocumentText.of(passages)})


def test_a_window_of_very_short_passages_is_read_whole_after_three_reads(tmp_path: Path) -> None:
    # a list the chunker kept line by line
    passages = laid_out("liste", [f"Punkt {i}." for i in range(300)], [2] * 300)
    info = info_of("liste", "Liste")
    store = CountingStore(store_of(tmp_path, [index_point(p, info) for p in passages]))
    hit = Hit(passages[280], info, 1.0)

    context = read_context(store, [hit])  # type: ignore[arg-type]

    assert len(store.fetched) == 3 and store.whole == ["liste"]
    assert sentences([hit], context) == sentences([hit], {"liste": DocumentText.of(passages)})


def test_the_second_search_reads_only_the_hits_an_answer_can_take(tmp_path: Path) -> None:
    from dataclasses import replace

    from core.analysis import passage_vector
    from core.gazetteer import load_gazetteer
    from core.model.embedding import HashingEmbedder
    from search.answer import AnswerOptions, answer_hits, merge_hits, subject_query
    from search.engine import Searcher, SearchRequest

    embedder, rng = HashingEmbedder(DIM), random.Random(5)
    points = []
    for i in range(80):  # more than the API's k of 50
        (p,) = laid_out(f"doc-{i}", [" ".join(rng.sample(SENTENCES, 3))], [0])
        dense = tuple(float(x) for x in embedder.embed_passages([p.text])[0])
        points.append(IndexPoint(passage=p, doc=info_of(p.doc_id), dense=dense, sparse=passage_vector(p.text)))
    store = CountingStore(store_of(tmp_path, points))
    searcher = Searcher(embedder=embedder, store=store, gazetteer=load_gazetteer())  # type: ignore[arg-type]
    request = SearchRequest(query="Wie viel Geld erhält die Stadt Hamm aus dem Programm?", k=50)
    first = searcher.search(request).hits
    options = AnswerOptions()
    whole = searcher.search(replace(request, query=subject_query(request.query))).hits  # the page's k
    store.fetched.clear()

    got = answer_hits(searcher, request, first, options)

    expected = merge_hits(first, whole, options.passages, options.second_retrieval)
    assert [(h.passage, h.doc, h.score) for h in got] == [(h.passage, h.doc, h.score) for h in expected]
    assert len(got) == options.read
    assert store.fetched == [options.read]  # the full text of the hits it can take, not of 50
