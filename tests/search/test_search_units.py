"""search/ in small pieces, with expected scores written as arithmetic: fusion (ours and the reference of
Qdrant's), the place boost, near-duplicate folding, grouping, facets and highlighting. The Searcher
runs on the real Qdrant engine in its in-process mode with a deterministic embedder that gives each
known text a fixed vector, so every dense score is an exact cosine."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence

import numpy as np
import pytest
from qdrant_client import QdrantClient

from core.analysis import passage_vector
from core.gazetteer import Gazetteer, load_gazetteer
from core.models import Annotations, DocInfo, DocType, Hit, Passage
from core.store.base import IndexPoint
from core.store.remote import RemoteStore
from search.engine import Searcher, SearchOptions, SearchRequest
from search.facets import facet_counts
from search.fusion import dbsf_scores, minmax, place_boost, rrf_scores, weighted
from search.group import fold_duplicates, group_hits
from search.highlight import match_spans, snippet, snippet_window

# --- pure fusion


def test_minmax_and_weighted_fusion_by_hand() -> None:
    assert minmax([3.0, 2.0, 1.0]) == [1.0, 0.5, 0.0]
    assert minmax([0.7, 0.7]) == [1.0, 1.0]  # equal scores: all full matches
    dense = [("a", 0.9), ("b", 0.5), ("c", 0.1)]
    lexical = [("b", 3.0), ("d", 1.0)]
    fused = weighted(dense, lexical, 0.5)
    assert fused["a"] == pytest.approx(0.5 * 1.0)
    assert fused["b"] == pytest.approx(0.5 * (0.5 - 0.1) / (0.9 - 0.1) + 0.5 * 1.0)
    assert fused["c"] == pytest.approx(0.5 * 0.0)
    assert fused["d"] == pytest.approx(0.5 * 0.0)
    # no lexical candidates (no known query word): the dense list counts fully
    assert weighted(dense, [], 0.5)["a"] == pytest.approx(1.0)


def test_reference_rrf_and_dbsf() -> None:
    lists = [[("a", 0.9), ("b", 0.5)], [("b", 3.0), ("c", 1.0), ("a", 0.5)]]
    rrf = rrf_scores(lists)
    assert rrf["a"] == pytest.approx(1 / (60 + 0) + 1 / (60 + 2))
    assert rrf["b"] == pytest.approx(1 / (60 + 1) + 1 / (60 + 0))
    assert rrf["c"] == pytest.approx(1 / (60 + 1))
    mean, std = (3.0 + 1.0 + 0.5) / 3, math.sqrt(((3.0 - 1.5) ** 2 + (1.0 - 1.5) ** 2 + (0.5 - 1.5) ** 2) / 3)
    lo, hi = mean - 3 * std, mean + 3 * std
    dbsf = dbsf_scores([lists[1]])
    assert dbsf["b"] == pytest.approx((3.0 - lo) / (hi - lo))


def test_place_boost_adds_only_for_a_named_place() -> None:
    wanted = frozenset({"05978"})
    assert place_boost(0.5, ("05978004", "05978", "05"), wanted, 0.15) == pytest.approx(0.5 + 0.15)
    assert place_boost(0.5, ("05913", "05"), wanted, 0.15) == 0.5
    assert place_boost(0.5, ("05978",), wanted, 0.0) == 0.5


# --- the Searcher on the real engine


TEXTS = {
    "p-berg": "Vorstudie Kreislaufwirtschaft in Bergkamen mit Unternehmen",
    "p-dort": "Kreislaufwirtschaft Hochvolt Kurse in Dortmund",
    "p-hamm": "Wasserstoffzentrum Hamm Elektrolyseur Inbetriebnahme",
}
# each text's unit vector; the query "Kreislaufwirtschaft Bergkamen" is (1, 0, 0)
VECTORS = {
    TEXTS["p-berg"]: (0.6, 0.8, 0.0),
    TEXTS["p-dort"]: (0.8, 0.0, 0.6),
    TEXTS["p-hamm"]: (0.0, 0.0, 1.0),
    "Kreislaufwirtschaft Bergkamen": (1.0, 0.0, 0.0),
    "Kreislaufwirtschaft": (1.0, 0.0, 0.0),
}


class TableEmbedder:
    """A fixed vector per known text: a real, deterministic embedder for arithmetic expectations."""

    dim = 3
    name = "table-3"

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([VECTORS[t] for t in texts], dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_passages(texts)


def _point(pid: str, text: str, keys: tuple[str, ...], doc: str) -> IndexPoint:
    passage = Passage(pid, doc, 0, text, 0, len(text), annotations=Annotations(place_keys=keys))
    info = DocInfo(doc, f"{doc}.html", doc, DocType.PRESS_RELEASE, "2024-01-01", "de")
    return IndexPoint(passage, info, VECTORS[text], passage_vector(text))


@pytest.fixture(scope="module")
def searcher() -> Iterator[Searcher]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the in-process mode warns about payload indexes
        store = RemoteStore(QdrantClient(":memory:"), "passages")
        store.ensure_collection(3)
        store.upsert(
            [
                _point("p-berg", TEXTS["p-berg"], ("05978004", "05978", "05"), "d1"),
                _point("p-dort", TEXTS["p-dort"], ("05913", "05"), "d2"),
                _point("p-hamm", TEXTS["p-hamm"], ("05915", "05"), "d3"),
            ]
        )
        yield Searcher(embedder=TableEmbedder(), store=store, gazetteer=load_gazetteer())
        store.close()


def _scores(searcher: Searcher, query: str, **options: object) -> dict[str, float]:
    result = searcher.search(SearchRequest(query, k=3, options=SearchOptions(**options)))  # type: ignore[arg-type]
    return {h.passage.passage_id: h.score for h in result.hits}


def test_dense_scores_are_cosines(searcher: Searcher) -> None:
    scores = _scores(searcher, "Kreislaufwirtschaft", mode="dense")
    assert scores == pytest.approx({"p-berg": 0.6, "p-dort": 0.8, "p-hamm": 0.0}, abs=1e-5)


def test_weighted_hybrid_is_the_pure_fusion_of_both_lists(searcher: Searcher) -> None:
    dense = _scores(searcher, "Kreislaufwirtschaft", mode="dense")
    lexical = _scores(searcher, "Kreislaufwirtschaft", mode="lexical")
    hybrid = _scores(searcher, "Kreislaufwirtschaft", mode="hybrid", fusion="weighted", dense_weight=0.5)
    ranked = lambda s: sorted(s.items(), key=lambda kv: -kv[1])  # noqa: E731
    expected = weighted(ranked(dense), ranked(lexical), 0.5)
    assert hybrid == pytest.approx(expected, abs=1e-5)
    # by hand: dense p-dort 0.8 is the top (1.0), p-berg (0.6 - 0.0) / (0.8 - 0.0) = 0.75; lexical min-max
    lo, hi = min(lexical.values()), max(lexical.values())
    lex = {k: (v - lo) / (hi - lo) for k, v in lexical.items()}
    assert hybrid["p-dort"] - hybrid["p-berg"] == pytest.approx(
        0.5 * (1.0 - 0.75) + 0.5 * (lex["p-dort"] - lex["p-berg"]), abs=1e-5
    )


def test_server_rrf_matches_the_reference(searcher: Searcher) -> None:
    dense = _scores(searcher, "Kreislaufwirtschaft", mode="dense")
    lexical = _scores(searcher, "Kreislaufwirtschaft", mode="lexical")
    ranked = lambda s: sorted(s.items(), key=lambda kv: (-kv[1], kv[0]))  # noqa: E731
    expected = rrf_scores([ranked(dense), ranked(lexical)])
    got = _scores(searcher, "Kreislaufwirtschaft", mode="hybrid", fusion="rrf")
    assert got == pytest.approx({k: expected[k] for k in got}, abs=1e-6)


def test_a_place_named_in_the_query_boosts_its_passages(searcher: Searcher) -> None:
    plain = _scores(searcher, "Kreislaufwirtschaft Bergkamen", mode="dense", place_mode="off")
    boosted = _scores(searcher, "Kreislaufwirtschaft Bergkamen", mode="dense", place_boost=0.15)
    assert boosted["p-berg"] == pytest.approx(plain["p-berg"] + 0.15, abs=1e-5)
    assert boosted["p-dort"] == pytest.approx(plain["p-dort"], abs=1e-5)
    filtered = _scores(searcher, "Kreislaufwirtschaft Bergkamen", mode="dense", place_mode="filter")
    assert set(filtered) == {"p-berg"}


# --- folding, grouping, facets, highlighting


def _hit(pid: str, doc: str, score: float, dup_of: str | None = None, url: str | None = None) -> Hit:
    info = DocInfo(doc, f"{doc}.html", doc.upper(), DocType.PRESS_RELEASE, "2023-05-04", "de", url=url,
                   near_duplicate_of=dup_of)  # fmt: skip
    ann = Annotations(place_keys=("05978024", "05978", "05"), programs=("5-StandorteProgramm",))
    return Hit(Passage(pid, doc, 0, "t", 0, 1, annotations=ann), info, score)


def test_near_duplicates_fold_into_the_best_ranked_document() -> None:
    a_url = "https://luenen.de/a"
    hits = [_hit("a1", "a", 0.9, url=a_url), _hit("b1", "b", 0.8, dup_of="a"), _hit("a2", "a", 0.7, url=a_url)]
    assert [h.passage.passage_id for h in fold_duplicates(hits)] == ["a1", "a2"]
    [group] = group_hits([hits[0], hits[2], hits[1]], per_doc=1)
    assert group.doc.doc_id == "a" and group.total_hits == 2 and len(group.hits) == 1
    assert group.also_published_at == ("b.html",)


def test_facets_count_each_document_once() -> None:
    gaz: Gazetteer = load_gazetteer()
    counts = facet_counts([_hit("a1", "a", 0.9), _hit("a2", "a", 0.8), _hit("b1", "b", 0.7)], gaz)
    assert dict(counts["place"]) == {"05978024": 2, "05978": 2}  # local places only, per document
    assert dict(counts["program"]) == {"5-StandorteProgramm": 2}
    assert dict(counts["year"]) == {"2023": 2}


def test_highlighting_marks_stems_and_compounds_and_the_snippet_window_keeps_words() -> None:
    text = "Die kreislaufwirtschaftlichen Ziele der Abfallkreislaufwirtschaft in Bergkamen."
    spans = match_spans(text, {"kreislaufwirtschaft", "bergkam"})
    assert [text[a:b] for a, b in spans] == ["kreislaufwirtschaftlichen", "Abfallkreislaufwirtschaft", "Bergkamen"]
    long = "Anfang " + "Wort " * 100 + "Kreislaufwirtschaft " + "Ende " * 100
    spans = match_spans(long, {"kreislaufwirtschaft"})
    a, b = snippet_window(long, spans, width=80)
    assert a <= spans[0][0] and spans[0][1] <= b and b - a <= 90
    assert long[a - 1].isspace() and (b == len(long) or long[b].isspace())  # whole words only


def test_one_snippet_for_every_front_end() -> None:
    text = "Vorwort. " * 30 + "Die <Kreislaufwirtschaft> in Bergkamen. " + "Nachwort. " * 30
    spans = match_spans(text, {"kreislaufwirtschaft"})
    s = snippet(text, spans, width=60)
    assert s.cut_before and s.cut_after
    [(a, b)] = s.spans
    assert s.text[a:b] == "Kreislaufwirtschaft"
    assert s.html().startswith("… ") and s.html().endswith(" …")
    assert "&lt;<mark>Kreislaufwirtschaft</mark>&gt;" in s.html()  # escaped around the mark
