"""The one request resolver (search.request): every front end's parameters -> one validated request."""

from __future__ import annotations

import pytest

from core.errors import QueryError
from core.gazetteer import Gazetteer, load_gazetteer
from search.engine import SearchOptions, query_text
from search.request import RequestParams, edit_distance, resolve_place, resolve_request


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return load_gazetteer()


@pytest.mark.parametrize(
    ("value", "ags", "corrected"),
    [
        ("05978", "05978", False),  # AGS key
        ("Kreis Unna", "05978", False),
        ("kreis unna", "05978", False),  # any case
        ("Bergkamen", "05978004", False),
        ("Bergkamens", "05978004", False),  # inflected
        ("Luenen", "05978024", False),  # umlaut transliterated
        ("Kreis Una", "05978", True),  # a typo: one edit
        ("Gelsenkirchn", "05513", True),
        ("Dortmnud", "05913", True),  # transposed letters count one
        ("ruhrgebiet", "ruhr", False),  # region key
    ],
)
def test_places_by_key_name_inflection_and_typo(gaz: Gazetteer, value: str, ags: str, corrected: bool) -> None:
    place, note = resolve_place(value, gaz)
    assert place.ags == ags
    assert (note is not None) == corrected
    if corrected:
        assert note == f"Ort {value!r} als {place.name} gelesen"


@pytest.mark.parametrize("value", ["Atlantis", "99999", "Kreis Xyzabc"])
def test_an_unknown_place_is_an_error(gaz: Gazetteer, value: str) -> None:
    with pytest.raises(QueryError, match=f"Unbekannter Ort: {value!r}"):
        resolve_place(value, gaz)


def test_edit_distance_is_damerau_levenshtein_with_a_cap() -> None:
    assert edit_distance("unna", "unna", 2) == 0
    assert edit_distance("una", "unna", 2) == 1  # one insertion
    assert edit_distance("dortmnud", "dortmund", 2) == 1  # one transposition
    assert edit_distance("kamen", "hamm", 1) == 2  # above the cap: cap + 1
    assert edit_distance("a", "abcdef", 2) == 3  # length difference alone exceeds the cap


def test_a_request_resolves_every_filter(gaz: Gazetteer) -> None:
    params = RequestParams(
        query="  Wasserstoff  ",
        k=5,
        places=["Kreis Unna", "05978"],
        programs=["JTF", "fünf-standorte-programm"],
        doc_types=["press_release", "Fortschrittsbericht"],
        date_from="2023-01-01",
        date_to="2024-12-31",
        languages=["DE"],
        sources=["wfg "],
        mode="lexical",
        fusion="rrf",
        place_mode="filter",
    )
    resolved = resolve_request(params, gaz, SearchOptions())
    r = resolved.request
    assert r.query == "Wasserstoff" and r.k == 5
    assert r.filter.place_keys == ("05978",)  # one place given twice; a Kreis key covers its Gemeinden
    assert r.filter.programs == ("Just Transition Fund", "5-StandorteProgramm")
    assert r.filter.doc_types == ("press_release", "progress_report")
    assert (r.filter.date_from, r.filter.date_to) == ("2023-01-01", "2024-12-31")
    assert r.filter.languages == ("de",) and r.filter.source_names == ("wfg",)
    assert (r.options.mode, r.options.fusion, r.options.place_mode) == ("lexical", "rrf", "filter")
    assert [p.name for p in resolved.places] == ["Kreis Unna"]


def test_defaults_come_from_the_settings_options(gaz: Gazetteer) -> None:
    defaults = SearchOptions(mode="dense", dense_weight=0.7)
    r = resolve_request(RequestParams(query="x"), gaz, defaults).request
    assert r.options == defaults
    assert r.filter.is_empty()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (RequestParams(query="   "), "Die Suchanfrage ist leer."),
        (RequestParams(query="x", k=0), "k muss zwischen 1 und 200 liegen."),
        (RequestParams(query="x", places=["Atlantis"]), "Unbekannter Ort: 'Atlantis'"),
        (RequestParams(query="x", programs=["Quatsch"]), "Unbekanntes Förderprogramm: 'Quatsch'"),
        (RequestParams(query="x", doc_types=["blog"]), "Unbekannte Dokumentart: 'blog' (erlaubt: press_release"),
        (RequestParams(query="x", date_from="2024-02-30"), "Ungültiges Datum für date_from: '2024-02-30'"),
        (RequestParams(query="x", date_to="2024"), "Ungültiges Datum für date_to: '2024' (JJJJ-MM-TT erwartet)"),
        (
            RequestParams(query="x", date_from="2024-05-01", date_to="2024-01-01"),
            "Der Zeitraum ist leer: date_from 2024-05-01 liegt nach date_to 2024-01-01.",
        ),
        (RequestParams(query="x", languages=["deutsch"]), "Ungültiger Sprachcode: 'deutsch'"),
        (RequestParams(query="x", mode="semantic"), "Unbekannter Wert für Suchmodus: 'semantic'"),
    ],
)
def test_invalid_values_are_one_german_error_each(gaz: Gazetteer, params: RequestParams, message: str) -> None:
    with pytest.raises(QueryError) as err:
        resolve_request(params, gaz, SearchOptions())
    assert str(err.value).startswith(message)


def test_a_lone_surrogate_in_a_query_is_read_as_a_replacement_character(gaz: Gazetteer) -> None:
    assert query_text("  Kreis \udcff Unna ") == "Kreis \ufffd Unna"
    assert query_text("Förderung 😀") == "Förderung 😀"  # a real character outside the BMP stays
    resolved = resolve_request(RequestParams(query="Wasserstoff \ud800"), gaz, SearchOptions())
    assert resolved.request.query == "Wasserstoff \ufffd"
    resolved.request.query.encode("utf-8")  # what the tokenizer and the stemmer need
