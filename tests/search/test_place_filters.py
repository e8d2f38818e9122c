"""Place filters are exact: for every Kreis, kreisfreie Stadt and Gemeinde named in the sample corpus,
a hard place filter returns only passages about that place (a Kreis: about it or one of its
Gemeinden), and nothing about that place is missed among the top hits of an unfiltered search."""

from __future__ import annotations

from typing import Any

import pytest

from core.store.base import SearchFilter
from search.engine import SearchOptions, SearchRequest

pytestmark = pytest.mark.slow


def corpus_places(rt: Any) -> set[str]:
    keys: set[str] = set()
    for _pid, passage, _doc in rt.store.iter_points():
        keys.update(passage.annotations.place_keys)
    return {
        k
        for k in keys
        if k in rt.gazetteer.places and rt.gazetteer.places[k].kind in ("kreis", "kreisfreie_stadt", "gemeinde")
    }


def test_every_place_filter_is_exact(sample_runtime: Any) -> None:
    rt = sample_runtime
    places = corpus_places(rt)
    assert {"05978", "05978004", "05913", "05112", "05915", "05916"} <= places  # Kreis Unna, Bergkamen, ...
    lexical = SearchOptions(mode="lexical", place_mode="off")
    for key in sorted(places):
        name = rt.gazetteer.places[key].name
        flt = SearchFilter(place_keys=(key,))
        hits = rt.searcher.search(SearchRequest(f"Förderung Projekt {name}", k=50, filter=flt, options=lexical)).hits
        assert hits, f"no passage found for {name} ({key})"
        allowed = {key, *rt.gazetteer.expand_down(key)}
        for hit in hits:
            assert key in hit.passage.annotations.place_keys, (name, hit.passage.passage_id)
            assert allowed & set(hit.passage.annotations.place_keys)
        # exact means complete too: the filter keeps as many passages as carry the key in the index
        assert rt.store.count(flt) == sum(
            1 for _pid, p, _d in rt.store.iter_points() if key in p.annotations.place_keys
        )


def test_kreis_filter_includes_its_gemeinden(sample_runtime: Any) -> None:
    rt = sample_runtime
    flt = SearchFilter(place_keys=("05978",))  # Kreis Unna
    hits = rt.searcher.search(SearchRequest("Stadt", k=100, filter=flt, options=SearchOptions(mode="lexical"))).hits
    gemeinden = {k for h in hits for k in h.passage.annotations.place_keys if k.startswith("05978") and len(k) == 8}
    assert {"05978004", "05978024"} <= gemeinden  # Bergkamen and Lünen passages count for the Kreis
    outside = rt.searcher.search(
        SearchRequest("Wasserstoff Hamm", k=20, filter=flt, options=SearchOptions(mode="lexical"))
    ).hits
    assert all("05978" in h.passage.annotations.place_keys for h in outside)
