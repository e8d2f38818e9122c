"""Funding facts and project mentions from small German texts (ingest.facts, pure rules)."""

from __future__ import annotations

import pytest

from core.facts import FactKind, ProjectStatus, intel_from_json, intel_to_json, name_tokens
from core.gazetteer import Gazetteer, load_gazetteer
from core.models import Document, PageSpan
from ingest.facts import extract_intel, segments


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return load_gazetteer()


def doc(text: str, title: str = "Pressemitteilung", date: str | None = "2024-03-06", **kw: object) -> Document:
    return Document(doc_id="d" * 16, source="x.html", title=title, text=text, content_hash="h", date=date, **kw)  # type: ignore[arg-type]


def test_amount_near_its_purpose_funding_with_place_program_and_funder(gaz: Gazetteer) -> None:
    text = "Das Land Nordrhein-Westfalen finanziert die Vorstudie EcoTecHub Bergkamen mit 150.000 Euro aus dem TransformationsBooster."
    [fact] = extract_intel(doc(text), gaz).facts
    assert fact.eur == 150_000
    assert fact.amount_text == "150.000 Euro"
    assert text[fact.amount_start : fact.amount_end] == "150.000 Euro"
    assert fact.kind is FactKind.FUNDING
    assert [p.ags for p in fact.places] == ["05978004"]  # Bergkamen; the funder "Land NRW" is no place
    assert fact.programs == ("TransformationsBooster",)
    assert fact.funder == "Land Nordrhein-Westfalen"
    assert fact.project is not None and "EcoTecHub" in fact.project
    assert fact.span.quote == text and (fact.span.char_start, fact.span.char_end) == (0, len(text))


def test_cost_and_funding_in_one_sentence_get_their_own_kind(gaz: Gazetteer) -> None:
    text = (
        "Aus dem Just Transition Fund fließen 6,2 Mio. Euro in den H2-Campus Gelsenkirchen, "
        "der insgesamt rund 7,75 Mio. Euro kostet."
    )
    facts = extract_intel(doc(text), gaz).facts
    assert [(f.eur, f.kind) for f in facts] == [(6_200_000, FactKind.FUNDING), (7_750_000, FactKind.COST)]
    assert {f.project for f in facts} == {"H2-Campus Gelsenkirchen"}
    assert all(f.programs == ("Just Transition Fund",) for f in facts)


def test_a_cue_right_after_the_amount_names_it(gaz: Gazetteer) -> None:
    text = "Größtes Einzelvorhaben: Wasserstoffzentrum Hamm-Uentrop (14,6 Mio. EUR Förderung, 38,5 Mio. EUR Gesamtinvestition)"
    facts = extract_intel(doc(text), gaz).facts
    assert [(f.eur, f.kind) for f in facts] == [(14_600_000, FactKind.FUNDING), (38_500_000, FactKind.COST)]


def test_table_rows_are_facts_with_the_row_as_project_and_the_header_as_kind(gaz: Gazetteer) -> None:
    text = (
        "Bewilligte Vorhaben\n\n"
        "Vorhaben | Ort | Förderung | Bewilligung\n\n"
        "Campus Kreislaufwirtschaft am Berufskolleg | Unna | 6,4 Mio. € | 2022\n\n"
        "Radverbindung Werne – Bergkamen | Werne / Bergkamen | 1,62 Mio. € | 03.05.2023"
    )
    intel = extract_intel(doc(text), gaz)
    assert [(f.eur, f.kind, f.project) for f in intel.facts] == [
        (6_400_000, FactKind.FUNDING, "Campus Kreislaufwirtschaft am Berufskolleg"),
        (1_620_000, FactKind.FUNDING, "Radverbindung Werne – Bergkamen"),
    ]
    assert [p.name for p in intel.facts[1].places] == ["Werne", "Bergkamen"]
    assert intel.facts[1].date == "2023-05-03"
    assert intel.facts[0].span.quote == "Campus Kreislaufwirtschaft am Berufskolleg | Unna | 6,4 Mio. € | 2022"


def test_a_sentence_with_two_projects_gives_each_amount_its_own_project(gaz: Gazetteer) -> None:
    text = (
        "Der Campus Kreislaufwirtschaft in Unna mit 6,4 Mio. Euro und das Gründungs- und Innovationszentrum "
        "in Kamen mit 2,1 Mio. Euro liegen im Zeitplan."
    )
    facts = extract_intel(doc(text), gaz).facts
    assert [(f.eur, f.project) for f in facts] == [
        (6_400_000, "Campus Kreislaufwirtschaft in Unna"),
        (2_100_000, "Gründungs- und Innovationszentrum in Kamen"),
    ]
    assert [[p.name for p in f.places] for f in facts] == [["Unna"], ["Kamen"]]


def test_an_amount_whose_currency_the_sentence_leaves_implicit(gaz: Gazetteer) -> None:
    text = "Das Vorhaben kostet 110 Millionen Euro, davon 30 Millionen aus Bundesmitteln."
    facts = extract_intel(doc(text, title="Hafen Duisburg"), gaz).facts
    assert [(f.eur, f.amount_text, f.kind) for f in facts] == [
        (110_000_000, "110 Millionen Euro", FactKind.COST),
        (30_000_000, "30 Millionen", FactKind.FUNDING),
    ]
    # without a currency anywhere in the sentence, a scaled number is no amount
    assert extract_intel(doc("In der Region leben 5 Millionen Menschen."), gaz).facts == ()


@pytest.mark.parametrize(
    "text",
    [
        "Der Eintritt zur Festveranstaltung kostet 12 Euro.",
        "Die Teilnahmegebühr beträgt 150 Euro pro Person.",
        "Das Jahresgehalt der Stelle liegt bei 58.000 Euro.",
        "Die Parkgebühr am Rathaus beträgt 2 Euro.",
        "Das Einzelticket für Erwachsene kostet im Verbund ab 01.01.2024 dann pro Preisstufe 1,90 Euro.",
        "Die Mitgliedschaft im Verein kostet 42 Euro pro Monat.",
        "Für Futter entstehen dem Verein jeden Monat rund 1.000 Euro an Kosten.",
        "Bei Verstößen drohen Geldbußen von bis zu zehn Millionen Euro.",
    ],
)
def test_amounts_that_are_no_funding_facts(gaz: Gazetteer, text: str) -> None:
    assert extract_intel(doc(text), gaz).facts == ()


def test_a_program_budget_has_no_project(gaz: Gazetteer) -> None:
    text = "Bis 2038 stehen für die fünf Standorte bis zu 662 Millionen Euro aus dem 5-StandorteProgramm zur Verfügung."
    [fact] = extract_intel(doc(text, title="Das 5-StandorteProgramm"), gaz).facts
    assert fact.kind is FactKind.BUDGET
    assert fact.project is None
    # a program-wide amount is about the program's funding area (gazetteer column `area`)
    assert {p.name for p in fact.places} == {"Duisburg", "Gelsenkirchen", "Hamm", "Herne", "Kreis Unna"}


def test_a_per_study_maximum_and_an_own_share_are_other(gaz: Gazetteer) -> None:
    text = "Gefördert werden Studien mit bis zu 200.000 Euro je Studie aus dem TransformationsBooster."
    [fact] = extract_intel(doc(text), gaz).facts
    assert fact.kind is FactKind.OTHER
    text = "Den Eigenanteil von rund 87.000 Euro trägt die Stadt Herne für das Transformationsbüro Herne."
    [fact] = extract_intel(doc(text), gaz).facts
    assert fact.kind is FactKind.OTHER


def test_a_date_without_a_year_takes_the_year_of_the_same_document(gaz: Gazetteer) -> None:
    text = "Der Workshop zur Vorstudie EcoTecHub Bergkamen findet am 20. März in der Ökologiestation statt."
    [mention] = [m for m in extract_intel(doc(text, date="2024-03-06"), gaz).mentions if "EcoTecHub" in m.name]
    assert [(e.date, e.what) for e in mention.events] == [("2024-03-20", "Workshop")]
    # an undated document: the year comes from the text before it, never from elsewhere
    text2 = "Stand 2023. " + text
    [mention] = [m for m in extract_intel(doc(text2, date=None), gaz).mentions if "EcoTecHub" in m.name]
    assert [e.date for e in mention.events] == ["2023-03-20"]
    [mention] = [m for m in extract_intel(doc(text, date=None), gaz).mentions if "EcoTecHub" in m.name]
    assert mention.events == ()


def test_events_give_the_status_the_latest_stage_wins(gaz: Gazetteer) -> None:
    text = (
        "Die Bezirksregierung Arnsberg hat das Wasserstoffzentrum Hamm-Uentrop im Mai 2023 bewilligt. "
        "Das Wasserstoffzentrum Hamm-Uentrop wurde am 14.09.2024 eröffnet."
    )
    [m] = extract_intel(doc(text), gaz).mentions
    assert [(e.date, e.what) for e in m.events] == [("2023-05", "Bewilligung"), ("2024-09-14", "Eröffnung")]
    assert m.status is ProjectStatus.RUNNING


def test_the_title_names_the_main_project_and_anaphors_belong_to_it(gaz: Gazetteer) -> None:
    text = (
        "Sechs Mobilstationen in Selm eröffnet\n\n"
        "Die Stadt hat die Stationen in Betrieb genommen. Das Vorhaben kostet rund 1,2 Mio. Euro."
    )
    intel = extract_intel(doc(text, title="Sechs Mobilstationen in Selm eröffnet"), gaz)
    [fact] = intel.facts
    assert fact.project == "Mobilstationen in Selm" and fact.kind is FactKind.COST
    assert [p.name for p in fact.places] == ["Selm"]
    [main] = [m for m in intel.mentions if m.main]
    assert main.name == "Mobilstationen in Selm"


def test_pdf_soft_wraps_do_not_split_an_amount_and_pages_are_cited(gaz: Gazetteer) -> None:
    text = (
        "Das Wasserstoffzentrum Hamm-Uentrop erhält eine Förderung von 14,6 Mio.\n"
        "EUR aus dem 5-StandorteProgramm für den Bau des Elektrolyseurs am Kraftwerk.\n"
    )
    d = doc(text, pages=(PageSpan(1, 0, 40), PageSpan(2, 40, len(text))))
    [fact] = extract_intel(d, gaz).facts
    assert fact.amount_text == "14,6 Mio.\nEUR" and fact.eur == 14_600_000
    assert fact.span.page == 1


def test_segments_keep_abbreviations_and_dates_inside_sentences() -> None:
    text = "Am 3. Mai 2023 kam der Bescheid über 3,5 Mio. Euro. Nach § 4 Abs. 2 gilt das. Neue Zeile."
    parts = [text[s.start : s.end] for s in segments(text)]
    assert parts == ["Am 3. Mai 2023 kam der Bescheid über 3,5 Mio. Euro.", "Nach § 4 Abs. 2 gilt das.", "Neue Zeile."]


def test_register_rows_survive_json(gaz: Gazetteer) -> None:
    text = "Die Stadt Lünen erhielt am 03.05.2023 einen Förderbescheid über 3,5 Mio. Euro für die Kraftwerksfläche Lippholthausen."
    intel = extract_intel(doc(text), gaz)
    assert intel.facts and intel_from_json(intel_to_json(intel)) == intel


def test_name_tokens_expand_coordinated_compounds_and_drop_places(gaz: Gazetteer) -> None:
    tokens, keys = name_tokens("Gründungs- und Innovationszentrum in Kamen", gaz)
    assert "gruendungszentrum" in tokens and "innovationszentrum" in tokens
    assert keys == {"05978020"}
    assert name_tokens("Gründungszentrum Kamen", gaz)[0] <= tokens


def test_events_from_table_year_cells_from_each_clause_and_from_today(gaz: Gazetteer) -> None:
    table = "Vorhaben | Ort | Förderung | Bewilligung\n\nRadverbindung Werne – Bergkamen | Werne | 1,62 Mio. € | 2022"
    [m] = [m for m in extract_intel(doc(table), gaz).mentions if "Radverbindung" in m.name]
    assert [(e.date, e.what) for e in m.events] == [("2022", "Bewilligung")]
    two = (
        "Das Wasserstoffzentrum Hamm-Uentrop wurde im Mai 2023 bewilligt; "
        "der Bau des Wasserstoffzentrums Hamm-Uentrop beginnt im Frühjahr 2024."
    )
    [m] = extract_intel(doc(two), gaz).mentions
    assert [(e.date, e.what) for e in m.events] == [("2023-05", "Bewilligung"), ("2024", "Start")]
    today = "Die Stadt hat das Wasserstoffzentrum Hamm-Uentrop heute offiziell eröffnet."
    [m] = extract_intel(doc(today, date="2026-02-03"), gaz).mentions
    assert [(e.date, e.what) for e in m.events] == [("2026-02-03", "Eröffnung")]


def test_a_heading_names_the_project_of_its_section_and_an_apposition_is_no_project_of_its_own(gaz: Gazetteer) -> None:
    text = (
        "4.2 Klimaquartier Kamen-Mitte\n\n"
        "Auf dem Marktplatz entstanden Grünflächen und Baumrigolen.\n\n"
        "Von den Gesamtkosten über 2,1 Mio. Euro trägt das Förderprogramm 80 Prozent.\n\n"
        "d) Fernwärme Lünen/Bergkamen, Großwärmepumpe und Speicher (14,2 Mio. EUR): Bewilligung in Aussicht."
    )
    facts = extract_intel(doc(text, title="Bericht"), gaz).facts
    assert [(f.eur, f.project) for f in facts] == [
        (2_100_000, "Klimaquartier Kamen"),  # the place ends the name
        (14_200_000, "Fernwärme Lünen/Bergkamen"),
    ]
