"""The test collections: formats, consistency, and that every passage judgment still finds its passage."""

from collections import Counter
from pathlib import Path

import pytest

from core.ids import doc_id_for
from core.models import Passage
from evaluation.quality import xquad
from evaluation.quality.collection import (
    CORPUS_DIR,
    CollectionError,
    Quote,
    QuoteNotFound,
    corpus_files,
    corpus_sha256,
    external,
    load_domain,
    load_queries,
    load_trec_qrels,
    normalise,
    resolve_quotes,
)
from ingest.chunk import ChunkOptions, chunk
from ingest.discovery import display_source
from ingest.parse import parse_bytes

TYPES = {"keyword", "question", "place", "program", "amount_date", "paraphrase", "no_answer"}


@pytest.fixture(scope="module")
def chunked() -> dict[str, list[Passage]]:
    """The sample corpus as the pipeline chunks it (parse + chunk, no index needed)."""
    out = {}
    for f in corpus_files():
        source = display_source(f)
        doc = parse_bytes(f.read_bytes(), source, doc_id=doc_id_for(source), suffix_hint=f.suffix.lower())
        out[source] = chunk(doc, ChunkOptions())
    return out


def test_domain_collection_is_large_enough_and_covers_every_type() -> None:
    c = load_domain()
    assert len(c.queries) >= 60
    counts = Counter(q.type for q in c.queries)
    assert set(counts) == TYPES
    assert all(n >= 5 for n in counts.values()), counts
    assert {q.id for q in c.no_answer()} == {q.id for q in c.queries if q.type == "no_answer"}
    assert all(any(g == 2 for g in c.doc_qrels[q.id].values()) for q in c.answerable())


def test_every_judged_document_is_in_the_corpus() -> None:
    c = load_domain()
    sources = {display_source(f) for f in corpus_files()}
    judged = {doc for docs in c.doc_qrels.values() for doc in docs}
    assert judged <= sources, judged - sources


def test_every_quote_finds_exactly_one_passage_of_its_document(chunked: dict[str, list[Passage]]) -> None:
    c = load_domain()
    qrels = resolve_quotes(c.quotes, chunked)  # raises QuoteNotFound listing every miss
    assert set(qrels) == {q.id for q in c.answerable()}
    ambiguous = [
        (q.query_id, q.doc, q.quote)
        for q in c.quotes
        if sum(normalise(q.quote) in normalise(p.text) for p in chunked[q.doc]) != 1
    ]
    assert not ambiguous


def test_a_quote_that_no_longer_matches_fails_loudly() -> None:
    doc = "corpus/sample/x.html"
    passages = {doc: [Passage("x-0000", "x", 0, "Die Förderquote\nbeträgt 90 Prozent.", 0, 34)]}
    assert resolve_quotes([Quote("q1", doc, 2, "Förderquote beträgt 90 Prozent")], passages) == {"q1": {"x-0000": 2}}
    with pytest.raises(QuoteNotFound) as err:
        resolve_quotes(
            [
                Quote("q1", doc, 2, "Förderquote beträgt 80 Prozent"),
                Quote("q2", "corpus/sample/y.html", 1, "irgendein Zitat"),
            ],
            passages,
        )
    assert len(err.value.misses) == 2
    assert "q1: corpus/sample/x.html: no passage contains 'Förderquote beträgt 80 Prozent'" in str(err.value)
    assert "q2: document corpus/sample/y.html is not in the index" in str(err.value)


def test_normalise_folds_whitespace_and_soft_hyphens() -> None:
    assert normalise(" Kreislauf\u00adwirtschaft\n im  Kreis\tUnna ") == "Kreislaufwirtschaft im Kreis Unna"


def test_a_passage_graded_above_its_document_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "queries.jsonl").write_text(
        '{"id": "q1", "text": "STARK Förderquote", "type": "program"}\n', encoding="utf-8"
    )
    (tmp_path / "qrels-doc.tsv").write_text("query_id\tdoc\tgrade\nq1\tcorpus/sample/a.html\t1\n", encoding="utf-8")
    (tmp_path / "qrels-passage.tsv").write_text(
        "query_id\tdoc\tgrade\tquote\nq1\tcorpus/sample/a.html\t2\tFörderquote von 90 Prozent\n", encoding="utf-8"
    )
    with pytest.raises(CollectionError, match="at least as relevant as its best passage"):
        load_domain(tmp_path)


def test_trec_and_beir_qrels(tmp_path: Path) -> None:
    trec = tmp_path / "r.trec"
    trec.write_text("q1 0 d1 2\nq1 0 d2 0\nq2 Q0 d3 1\n", encoding="utf-8")
    beir = tmp_path / "r.tsv"
    beir.write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n", encoding="utf-8")
    assert load_trec_qrels(trec) == {"q1": {"d1": 2, "d2": 0}, "q2": {"d3": 1}}
    assert load_trec_qrels(beir) == {"q1": {"d1": 1}}


def test_queries_as_jsonl_or_tsv(tmp_path: Path) -> None:
    jsonl = tmp_path / "q.jsonl"
    jsonl.write_text(
        '{"_id": "1", "text": "Wasserstoff Hamm"}\n{"id": "2", "text": "Ladepunkte", "type": "keyword"}\n',
        encoding="utf-8",
    )
    tsv = tmp_path / "q.tsv"
    tsv.write_text("1\tWasserstoff Hamm\n", encoding="utf-8")
    assert [(q.id, q.type) for q in load_queries(jsonl)] == [("1", "query"), ("2", "keyword")]
    assert load_queries(tsv)[0].text == "Wasserstoff Hamm"
    with pytest.raises(CollectionError, match=r"must be \.jsonl"):
        load_queries(tmp_path / "q.csv")


def test_external_collection_rejects_judgments_for_unknown_queries(tmp_path: Path) -> None:
    (tmp_path / "q.tsv").write_text("1\tWasserstoff\n", encoding="utf-8")
    (tmp_path / "r.trec").write_text("2 0 d1 1\n", encoding="utf-8")
    with pytest.raises(CollectionError, match="unknown query id"):
        external(tmp_path / "q.tsv", tmp_path / "r.trec")


def test_hashes_are_stable_and_name_sensitive(tmp_path: Path) -> None:
    assert corpus_sha256() == corpus_sha256(CORPUS_DIR)
    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    first = corpus_sha256(tmp_path)
    (tmp_path / "a.txt").rename(tmp_path / "b.txt")
    assert corpus_sha256(tmp_path) != first


def test_xquad_as_retrieval_collection() -> None:
    collection, paragraphs = xquad.load()
    assert (len(paragraphs), len(collection.queries)) == (240, 1190)
    assert collection.passage_qrels is not None
    assert all(len(r) == 1 for r in collection.passage_qrels.values())
    assert xquad.question_type("Wie viele Einwohner hat Warschau?") == "wie viel"
    assert xquad.question_type("In welchem Jahr wurde Tesla geboren?") == "wann"
    sub = xquad.subset(collection, 5)
    assert len(sub.queries) == 238 and sub.queries[0] == collection.queries[0]
