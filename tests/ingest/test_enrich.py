"""Enrichment: amounts and dates from German text, and the combined annotations of a passage."""

from __future__ import annotations

import pytest

from core.gazetteer import Gazetteer, load_gazetteer
from core.models import Amount, Annotations
from ingest.enrich import annotate, extract_amounts, extract_dates

MIO = 1_000_000
MRD = 1_000_000_000


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return load_gazetteer()


# --- amounts


@pytest.mark.parametrize(
    ("text", "euros"),
    [
        ("Das Land stellt 150.000 Euro zur Verfügung.", [150_000]),
        ("Fördervolumen: 1,2 Mio. Euro", [1.2 * MIO]),
        ("insgesamt 3,5 Millionen € für den Umbau", [3.5 * MIO]),
        ("45 Mio. EUR aus dem JTF", [45 * MIO]),
        ("2 Mrd. Euro für die Reviere", [2 * MRD]),
        ("Kosten von € 500.000", [500_000]),
        ("Zuschuss: €1,5 Mio.", [1.5 * MIO]),
        ("rund 80 Millionen Euro", [80 * MIO]),
        ("500 Tsd. Euro und 250 T€ und 120 TEUR", [500 * 1_000, 250 * 1_000, 120 * 1_000]),
        ("1.500,50 Euro", [1500.5]),
        ("150 000 Euro", [150_000]),
        ("eine 150.000-Euro-Förderung", [150_000]),
        ("eine Million Euro und zweieinhalb Milliarden Euro", [1 * MIO, 2.5 * MRD]),
        ("zwischen 2 und 3 Mio. Euro", [2 * MIO, 3 * MIO]),
        ("50.000 bis 100.000 Euro", [50_000, 100_000]),
        ("2–3 Mrd. Euro", [2 * MRD, 3 * MRD]),
        ("in Höhe von 150.000 Euro und noch einmal 150.000 Euro", [150_000]),  # no repeats
        ("Kapitel 2 150.000 Euro", [150_000]),  # mixed separators are two numbers
    ],
)
def test_extract_amounts(text: str, euros: list[float]) -> None:
    assert [a.euros for a in extract_amounts(text)] == euros


def test_amount_keeps_its_text() -> None:
    assert extract_amounts("rund 80 Millionen Euro.") == (Amount(80 * MIO, "80 Millionen Euro"),)


@pytest.mark.parametrize(
    "text",
    [
        "Das Aus der Kohleverstromung bis 2038",
        "2038",
        "nach § 4 Abs. 2 InvKG",
        "Tel.: +49 201 632488-12, Fax: +49 201 632488-99",
        "T. 0 23 03/ 27-38 90",
        "von insgesamt 22 Unternehmen aus der Region",
        "mehr als 2000 Beschäftigte",
        "die Abgasnorm Euro 6",
        "in den kommenden 13 Monaten, 5,1 Mio. Einwohner",
        "um 14.00 Uhr",
    ],
)
def test_no_amounts(text: str) -> None:
    assert extract_amounts(text) == ()


# --- dates


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("am 12. März 2024 in Bergkamen", ["2024-03-12"]),
        ("Stand 03.05.2023", ["2023-05-03"]),
        ("Frist: 1.9.2023", ["2023-09-01"]),
        ("am 1. Sept. 2023", ["2023-09-01"]),
        ("veröffentlicht im Dezember 2021", ["2021-12"]),
        ("März 2024", ["2024-03"]),
        ("im Jahr 2038", ["2038"]),
        ("bis 2038", ["2038"]),
        ("Bis 2038 soll Schluss sein.", ["2038"]),
        ("bis zum Jahr 2045", ["2045"]),
        ("noch bis Ende 2024 laufenden Vorstudie", ["2024"]),
        ("seit 2019 und ab 2025", ["2019", "2025"]),
        ("Förderperiode 2021–2027", ["2021", "2027"]),
        ("in den Jahren 2021 bis 2027", ["2021", "2027"]),
        ("von 2021 bis 2027", ["2021", "2027"]),
        ("ISO 2024-03-12", ["2024-03-12"]),
        ("am 12. März 2024 und im März 2024 und im Jahr 2024", ["2024-03-12", "2024-03", "2024"]),
        ("bis 2038, bis 2038", ["2038"]),  # no repeats
    ],
)
def test_extract_dates(text: str, dates: list[str]) -> None:
    assert list(extract_dates(text)) == dates


@pytest.mark.parametrize(
    "text",
    [
        "31.02.2024",
        "30. Februar 2024",
        "13.13.2024",
        "2024-02-30",
        "Mittwoch, 20. März",  # no year
        "um 14.00 Uhr",
        "mehr als 2000 Beschäftigte",  # a bare number is no year
        "bis 2000 Euro",  # an amount, not a year
        "§ 4 Abs. 2",
        "PLZ 44575 Castrop-Rauxel",
    ],
)
def test_no_dates(text: str) -> None:
    assert extract_dates(text) == ()


# --- annotate


PRESS_RELEASE = (
    "Nachhaltige Wertschöpfung in Bergkamen: Um mehr über den geplanten Technologiehub „EcoTecHub Bergkamen“ "
    "zu erfahren, kamen im März Unternehmen der Region und insbesondere aus dem Kreis Unna zusammen. Die "
    "Hochschule Bochum und die Westfälische Hochschule luden zu dem Workshop im Rahmen der noch bis Ende 2024 "
    "laufenden Vorstudie ein. Für die Vorstudie über das 5-StandorteProgramm stellt die Landesregierung über "
    "einen sogenannten TransformationsBooster 150.000 Euro zur Verfügung. Teilnehmende von insgesamt 22 "
    "Unternehmen; Kontakt: T. 0 23 03/ 27-38 90."
)


def test_annotate_press_release(gaz: Gazetteer) -> None:
    ann = annotate(PRESS_RELEASE, gaz)
    assert ann.places == ("Bergkamen", "Kreis Unna", "Bochum")
    # Bergkamen upwards, then Kreis Unna (already there), then Bochum (05911 and its Bezirk 059, known).
    assert ann.place_keys == ("05978004", "05978", "059", "05", "ruhr", "05911")
    assert ann.programs == ("EcoTecHub", "5-StandorteProgramm", "TransformationsBooster")
    assert ann.organisations == ("Hochschule Bochum", "Westfälische Hochschule")
    assert ann.amounts == (Amount(150_000, "150.000 Euro"),)
    assert ann.dates == ("2024",)


def test_annotate_expands_every_place_upwards(gaz: Gazetteer) -> None:
    ann = annotate("Projekte in Köln und im Kreis Wesel", gaz)
    assert ann.places == ("Köln", "Kreis Wesel")
    assert ann.place_keys == ("05315", "053", "05", "05170", "051", "ruhr")


def test_annotate_empty_text(gaz: Gazetteer) -> None:
    assert annotate("", gaz) == Annotations()
