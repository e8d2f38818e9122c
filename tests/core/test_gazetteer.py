"""The gazetteer: the AGS hierarchy of the shipped data, expansion, and matching in German text."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import ConfigError, QueryError
from core.gazetteer import Gazetteer, load_gazetteer


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return load_gazetteer()


def keys_of(gaz: Gazetteer, text: str, *, ignore_case: bool = False) -> list[tuple[str, str]]:
    """(key, matched text) of each place found, checking that offsets point at the match."""
    return [(m.ags, text[m.start : m.end]) for m in gaz.find_places(text, ignore_case=ignore_case)]


# --- the data


def test_counts_of_nrw_administrative_units(gaz: Gazetteer) -> None:
    kinds = [p.kind for p in gaz.places.values()]
    assert kinds.count("land") == 1
    assert kinds.count("regierungsbezirk") == 5
    assert kinds.count("kreis") == 31
    assert kinds.count("kreisfreie_stadt") == 22


def test_every_place_has_a_well_formed_key_below_its_parent(gaz: Gazetteer) -> None:
    digits = {"land": 2, "regierungsbezirk": 3, "kreis": 5, "kreisfreie_stadt": 5, "gemeinde": 8}
    for place in gaz.places.values():
        if place.kind == "region":
            assert place.parent_ags == "05"
            continue
        assert place.ags.isdigit() and len(place.ags) == digits[place.kind], place
        if place.kind == "land":
            assert place.parent_ags is None
            continue
        assert place.parent_ags is not None and place.parent_ags in gaz.places, place
        assert place.ags.startswith(place.parent_ags), place
        parent_kind = gaz.places[place.parent_ags].kind
        expected_parent = {
            "regierungsbezirk": "land",
            "kreis": "regierungsbezirk",
            "kreisfreie_stadt": "regierungsbezirk",
            "gemeinde": "kreis",
        }[place.kind]
        assert parent_kind == expected_parent, place


@pytest.mark.parametrize(
    ("ags", "name"),
    [
        ("05913", "Dortmund"),
        ("05911", "Bochum"),
        ("05112", "Duisburg"),
        ("05113", "Essen"),
        ("05513", "Gelsenkirchen"),
        ("05915", "Hamm"),
        ("05916", "Herne"),
        ("05512", "Bottrop"),
        ("05119", "Oberhausen"),
        ("05117", "Mülheim an der Ruhr"),
        ("05914", "Hagen"),
        ("05978", "Kreis Unna"),
        ("05562", "Kreis Recklinghausen"),
        ("05170", "Kreis Wesel"),
        ("05954", "Ennepe-Ruhr-Kreis"),
        ("05978004", "Bergkamen"),
        ("05978036", "Unna"),
        ("059", "Regierungsbezirk Arnsberg"),
    ],
)
def test_known_keys(gaz: Gazetteer, ags: str, name: str) -> None:
    assert gaz.places[ags].name == name


@pytest.mark.parametrize(
    ("kreis", "gemeinden"),
    [
        (
            "05978",
            "Bergkamen Bönen Fröndenberg/Ruhr Holzwickede Kamen Lünen Schwerte Selm Unna Werne",
        ),
        (
            "05562",
            "Castrop-Rauxel Datteln Dorsten Gladbeck Haltern_am_See Herten Marl Oer-Erkenschwick Recklinghausen "
            "Waltrop",
        ),
        (
            "05170",
            "Alpen Dinslaken Hamminkeln Hünxe Kamp-Lintfort Moers Neukirchen-Vluyn Rheinberg Schermbeck Sonsbeck "
            "Voerde_(Niederrhein) Wesel Xanten",
        ),
        (
            "05954",
            "Breckerfeld Ennepetal Gevelsberg Hattingen Herdecke Schwelm Sprockhövel Wetter_(Ruhr) Witten",
        ),
    ],
)
def test_ruhr_kreise_have_exactly_their_gemeinden(gaz: Gazetteer, kreis: str, gemeinden: str) -> None:
    names = sorted(gaz.places[key].name for key in gaz.expand_down(kreis))
    assert names == sorted(name.replace("_", " ") for name in gemeinden.split())


def test_ruhr_region_is_eleven_cities_and_four_kreise(gaz: Gazetteer) -> None:
    members = gaz.regions["ruhr"]
    kinds = [gaz.places[key].kind for key in members]
    assert kinds.count("kreisfreie_stadt") == 11
    assert sorted(key for key in members if gaz.places[key].kind == "kreis") == ["05170", "05562", "05954", "05978"]
    assert gaz.places["ruhr"].name == "Ruhrgebiet"


# --- hierarchy


def test_bergkamen_expands_up_to_kreis_bezirk_land_and_region(gaz: Gazetteer) -> None:
    assert gaz.expand_up("05978004") == ("05978004", "05978", "059", "05", "ruhr")


def test_kreisfreie_stadt_expands_up(gaz: Gazetteer) -> None:
    assert gaz.expand_up("05913") == ("05913", "059", "05", "ruhr")
    assert gaz.expand_up("05315") == ("05315", "053", "05")  # Köln: not in any region


def test_kreis_unna_expands_down_to_exactly_its_ten_gemeinden(gaz: Gazetteer) -> None:
    down = gaz.expand_down("05978")
    assert len(down) == 10
    assert all(key.startswith("05978") and len(key) == 8 for key in down)
    assert "05978004" in down and "05978036" in down


def test_region_expands_down_through_its_members(gaz: Gazetteer) -> None:
    down = gaz.expand_down("ruhr")
    assert {"05913", "05978", "05978004", "05954036"} <= set(down)
    assert "05315" not in down and "ruhr" not in down


def test_gemeinde_has_nothing_below(gaz: Gazetteer) -> None:
    assert gaz.expand_down("05978004") == ()


def test_unknown_keys(gaz: Gazetteer) -> None:
    with pytest.raises(KeyError):
        gaz.expand_up("99999")
    with pytest.raises(KeyError):
        gaz.expand_down("99999")
    with pytest.raises(QueryError):
        gaz.place_filter_keys("99999")


def test_place_filter_keys_is_the_own_key(gaz: Gazetteer) -> None:
    # Passages carry keys expanded upwards, so the filter for a Kreis is the Kreis's own key.
    assert gaz.place_filter_keys("05978") == ("05978",)
    assert gaz.place_filter_keys("ruhr") == ("ruhr",)


# --- matching places


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Der Kreis Unna ist besonders betroffen.", [("05978", "Kreis Unna")]),
        ("Projekte im Kreis Unna", [("05978", "Kreis Unna")]),
        ("die Ökologiestation des Kreises Unna in Bergkamen", [("05978", "Kreises Unna"), ("05978004", "Bergkamen")]),
        ("im Landkreis Unna", [("05978", "Landkreis Unna")]),
        ("Das Rathaus in Unna.", [("05978036", "Unna")]),
        ("Die Unnaer Innenstadt", [("05978036", "Unnaer")]),
        ("Der Bergkamener Bürgermeister", [("05978004", "Bergkamener")]),
        (
            "Dortmunder, Bochumer, Duisburger und Gelsenkirchener Betriebe",
            [("05913", "Dortmunder"), ("05911", "Bochumer"), ("05112", "Duisburger"), ("05513", "Gelsenkirchener")],
        ),
        ("Der Hammer Oberbürgermeister eröffnet den Hafen.", [("05915", "Hammer")]),
        ("Er schlug mit dem Hammer zu.", []),
        ("Der Hammer liegt auf dem Tisch.", []),
        ("mit einem Hammer Nägel einschlagen", []),
        ("Hamminkeln liegt nicht bei Hamm.", [("05170012", "Hamminkeln"), ("05915", "Hamm")]),
        ("Werner Müller wohnt in Werne.", [("05978040", "Werne")]),
        ("Marlene arbeitet in Marl im Marler Chemiepark.", [("05562024", "Marl"), ("05562024", "Marler")]),
        ("Selm und Selmer Betriebe", [("05978032", "Selm"), ("05978032", "Selmer")]),
        ("Dortmunds Hafen und des Ruhrgebiets Zukunft", [("05913", "Dortmunds"), ("ruhr", "Ruhrgebiets")]),
        ("Bergkamen-Heil und die Ökologiestation BergkamenHeil", [("05978004", "Bergkamen")] * 2),
        ("beim Essen in Essen", [("05113", "Essen")]),
        ("das Essener Münster und die Universität Münster", [("05113", "Essener"), ("05515", "Münster")]),
        ("in den Alpen wandern; in Alpen am Niederrhein", [("05170004", "Alpen")]),
        ("Schwerter zu Pflugscharen; die Schwerter Innenstadt", [("05978028", "Schwerter")]),
        ("das Wetter in Wetter (Ruhr)", [("05954032", "Wetter (Ruhr)")]),
        ("Köln-Mülheim ist nicht Mülheim an der Ruhr", [("05315", "Köln"), ("05117", "Mülheim an der Ruhr")]),
        ("Mülheim a.d. Ruhr und Mülheimer Betriebe", [("05117", "Mülheim a.d. Ruhr"), ("05117", "Mülheimer")]),
        ("der Rhein-Herne-Kanal", []),
        ("im Bereich des Märkischen Kreises", [("05962", "Märkischen Kreises")]),
        ("Städte des Ennepe-Ruhr-Kreises", [("05954", "Ennepe-Ruhr-Kreises")]),
        (
            "Bezirksregierung Arnsberg und Regierungsbezirks Arnsberg",
            [("059", "Bezirksregierung Arnsberg"), ("059", "Regierungsbezirks Arnsberg")],
        ),
        ("die Stadt Arnsberg", [("05958004", "Arnsberg")]),
        ("Die nordrhein-westfälische Landesregierung", [("05", "nordrhein-westfälische")]),
        ("die NRW-Landesregierung", [("05", "NRW")]),
        ("Metropole Ruhr und Ruhrgebiet", [("ruhr", "Metropole Ruhr"), ("ruhr", "Ruhrgebiet")]),
        ("der Kreis\nUnna", [("05978", "Kreis\nUnna")]),
        ("KREIS UNNA UND DORTMUND", [("05978", "KREIS UNNA"), ("05913", "DORTMUND")]),
        ("Kamener Kreuz, aber sie kamen zusammen", [("05978020", "Kamener")]),
    ],
)
def test_find_places_in_german_sentences(gaz: Gazetteer, text: str, expected: list[tuple[str, str]]) -> None:
    assert keys_of(gaz, text) == expected


def test_find_places_names_are_canonical(gaz: Gazetteer) -> None:
    mentions = gaz.find_places("im Kreises Unna und in Mülheim")
    assert [m.name for m in mentions] == ["Kreis Unna", "Mülheim an der Ruhr"]


def test_five_standorte_sentence(gaz: Gazetteer) -> None:
    text = "Standorte von Steinkohlekraftwerken Duisburg, Gelsenkirchen, Hamm, Herne und Kreis Unna."
    assert [key for key, _ in keys_of(gaz, text)] == ["05112", "05513", "05915", "05916", "05978"]


# --- queries


def test_query_kreis_unna_is_the_kreis_not_the_city(gaz: Gazetteer) -> None:
    query = "Projekte Kreislaufwirtschaft Kreis Unna"
    assert keys_of(gaz, query) == [("05978", "Kreis Unna")]
    assert keys_of(gaz, query.lower(), ignore_case=True) == [("05978", "kreis unna")]


def test_lower_case_query(gaz: Gazetteer) -> None:
    assert keys_of(gaz, "wasserstoff in gelsenkirchen und mülheim an der ruhr", ignore_case=True) == [
        ("05513", "gelsenkirchen"),
        ("05117", "mülheim an der ruhr"),
    ]
    assert keys_of(gaz, "wasserstoff in gelsenkirchen") == []  # case-sensitive by default


# --- programs and organisations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("im Rahmen des 5-StandorteProgramms realisiert", ["5-StandorteProgramm"]),
        ("das Fünf-Standorte-Programm und das 5-Standorte-Programm", ["5-StandorteProgramm"] * 2),
        ("über einen sogenannten TransformationsBooster", ["TransformationsBooster"]),
        ("Just Transition Fund (JTF)", ["Just Transition Fund", "Just Transition Fund"]),
        ("Mittel aus dem EFRE/JTF-Programm NRW", ["EFRE NRW"]),
        ("die Projekte der Ruhr-Konferenz", ["Ruhr-Konferenz"]),
        ("SPIN bringt Wirtschaft zusammen; mehr zu den SPIN-Projekten", ["SPIN", "SPIN"]),
        ("ein starkes Projekt, stark gefördert", []),
        ("Förderung aus STARK", ["STARK"]),
        ("So lautet das Ziel der E-METROPOLE.RUHR.", ["E-METROPOLE.RUHR"]),
        ("Vorstudie zum EcoTecHub Bergkamen und des EcoTecHubs", ["EcoTecHub", "EcoTecHub"]),
        (
            "nach dem Strukturstärkungsgesetz Kohleregionen und § 11 InvKG",
            [
                "Strukturstärkungsgesetz Kohleregionen",
                "Investitionsgesetz Kohleregionen",
            ],
        ),
    ],
)
def test_find_programs(gaz: Gazetteer, text: str, expected: list[str]) -> None:
    assert [m.name for m in gaz.find_programs(text)] == expected


def test_acronyms_keep_their_case_in_queries(gaz: Gazetteer) -> None:
    assert [m.name for m in gaz.find_programs("stark und spin", ignore_case=True)] == []
    assert [m.name for m in gaz.find_programs("ruhr-konferenz ecotechub", ignore_case=True)] == [
        "Ruhr-Konferenz",
        "EcoTecHub",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Wissenschaftler der Westfälischen Hochschule und der Hochschule Bochum",
            ["Westfälische Hochschule", "Hochschule Bochum"],
        ),
        (
            "an der Ruhr-Universität Bochum und der TU Dortmund",
            ["Ruhr-Universität Bochum", "Technische Universität Dortmund"],
        ),
        (
            "der Wirtschaftsförderungsgesellschaft für den Kreis Unna mbH (WFG) und WFG-Mitarbeiterin",
            ["Wirtschaftsförderungsgesellschaft für den Kreis Unna mbH"] * 3,
        ),
        (
            "Das Ministerium für Wirtschaft, Innovation, Digitalisierung und Energie hat  die Business Metropole "
            "Ruhr GmbH beauftragt.",
            [
                "Ministerium für Wirtschaft, Innovation, Digitalisierung und Energie des Landes Nordrhein-Westfalen",
                "Business Metropole Ruhr GmbH",
            ],
        ),
        (
            "MWIKE, BMWK und RVR",
            [
                "Ministerium für Wirtschaft, Industrie, Klimaschutz und Energie des Landes Nordrhein-Westfalen",
                "Bundesministerium für Wirtschaft und Klimaschutz",
                "Regionalverband Ruhr",
            ],
        ),
        ("NRW.BANK, STEAG, RWE und Uniper", ["NRW.BANK", "STEAG", "RWE", "Uniper"]),
    ],
)
def test_find_organisations(gaz: Gazetteer, text: str, expected: list[str]) -> None:
    assert [m.name for m in gaz.find_organisations(text)] == expected


# --- loading


def test_load_takes_less_than_100_ms() -> None:
    best = float("inf")
    for _ in range(3):  # best of three: the cost of a load, not of a busy machine
        started = time.perf_counter()
        load_gazetteer()
        best = min(best, time.perf_counter() - started)
    assert best < 0.1


def _write_minimal(root: Path, places: str) -> None:
    (root / "places.csv").write_text("ags,name,kind,parent_ags,aliases,adjectives\n" + places, encoding="utf-8")
    (root / "regions.csv").write_text("key,name,parent_ags,aliases,members\n", encoding="utf-8")
    (root / "programs.csv").write_text("name,aliases,kind,description\n", encoding="utf-8")
    (root / "organisations.csv").write_text("name,aliases,kind\n", encoding="utf-8")


def test_minimal_gazetteer_loads(tmp_path: Path) -> None:
    _write_minimal(tmp_path, "05,Nordrhein-Westfalen,land,,,\n059,Regierungsbezirk Arnsberg,regierungsbezirk,05,,\n")
    gaz = load_gazetteer(tmp_path)
    assert gaz.expand_up("059") == ("059", "05")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("05,NRW,land,,,\n05978004,Bergkamen,gemeinde,05,,\n", "is a land, not a kreis"),
        ("05,NRW,land,,,\n05978,Kreis Unna,kreis,059,,\n", "parent 059"),
        (
            "05,NRW,land,,,\n059,RB Arnsberg,regierungsbezirk,05,,\n05978,Kreis Unna,kreis,059,,\n"
            "05913004,Bergkamen,gemeinde,05978,,\n",
            "does not start with",
        ),
        ("05,NRW,land,,,\n0597,Kreis,kreis,05,,\n", "no 5-digit key"),
        (
            "05,NRW,land,,,\n059,RB Arnsberg,regierungsbezirk,05,,\n"
            "051,RB Düsseldorf,regierungsbezirk,05,RB Arnsberg,\n",
            "names both",
        ),
        ("05,NRW,land,,,\n059,X,bezirk,05,,\n", "unknown kind"),
        ("05,NRW,land,,\n", "wrong number of fields"),
    ],
)
def test_broken_data_raises_config_error(tmp_path: Path, rows: str, message: str) -> None:
    _write_minimal(tmp_path, rows)
    with pytest.raises(ConfigError, match=message):
        load_gazetteer(tmp_path)


def test_a_remembering_view_finds_the_same_and_scans_each_text_once(
    gaz: Gazetteer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core import gazetteer as module

    scans: list[str] = []
    walk = module._Matcher._walk

    def counted(self: module._Matcher, text: str, ignore_case: bool) -> Iterator[tuple[str, int, int]]:
        scans.append(text)
        return walk(self, text, ignore_case)

    monkeypatch.setattr(module._Matcher, "_walk", counted)
    texts = ["Der Förderbescheid für Lünen-Lippholthausen", "im kreis unna und in bergkamen", "Ruhr-Konferenz"]
    view = gaz.remembering()
    for _ in range(3):
        for text in texts:
            for ignore_case in (False, True):
                assert view.find_places(text, ignore_case=ignore_case) == gaz.find_places(text, ignore_case=ignore_case)
                assert view.find_programs(text, ignore_case=ignore_case) == gaz.find_programs(
                    text, ignore_case=ignore_case
                )
    # the view scanned each (text, case) once per matcher; the gazetteer itself every time
    assert len(scans) == 2 * 2 * len(texts) + 3 * 2 * 2 * len(texts)
    assert view.find_places(texts[0])[0].name == "Lünen"
    fresh = gaz.remembering()
    fresh.find_places(texts[0])
    assert len(scans) == 2 * 2 * len(texts) + 3 * 2 * 2 * len(texts) + 1  # a new view remembers nothing


def test_missing_file_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"places\.csv"):
        load_gazetteer(tmp_path)
