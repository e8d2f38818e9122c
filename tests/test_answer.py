"""Direct answers without a model: question typing, sentence splitting, candidates and their scores on small
German texts (``search.answer``)."""

from __future__ import annotations

import pytest

from core.facts import FactKind
from core.gazetteer import Gazetteer, load_gazetteer
from core.models import DocInfo, DocType, Hit, Passage
from ingest.enrich import annotate
from search.answer import (
    AnswerOptions,
    Asked,
    answer,
    candidates,
    score,
    sentence_spans,
    understand_question,
)


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("Wie viel Geld gibt das Land für die Vorstudie?", Asked.AMOUNT),
        ("Wie hoch ist der Zuschuss für die Mobilstationen?", Asked.AMOUNT),
        ("Was kostet der Umbau zur Schwammstadt?", Asked.AMOUNT),
        ("Wie teuer ist die Vorbereitungsphase?", Asked.AMOUNT),
        ("Fördersumme für das Recyclingtechnikum in Marl?", Asked.AMOUNT),
        ("Wann wurde der Förderbescheid übergeben?", Asked.DATE),
        ("Seit wann läuft der Qualifizierungsverbund?", Asked.DATE),
        ("Bis wann läuft die Vorstudie?", Asked.DATE),
        ("Wie viele Unternehmen nahmen am Workshop teil?", Asked.COUNT),
        ("Anzahl der Ladepunkte in Unna?", Asked.COUNT),
        ("Wer leitet das Transformationsbüro?", Asked.PERSON),
        ("Wer ist die Ansprechpartnerin für das Programm?", Asked.PERSON),
        ("Wer bewilligt die Anträge?", Asked.ORGANISATION),
        ("Welche Behörde hat die Vorstudie bewilligt?", Asked.ORGANISATION),
        ("Welche Hochschule koordiniert die Studie?", Asked.ORGANISATION),
        ("Bei welcher Behörde werden Anträge gestellt?", Asked.ORGANISATION),
        ("Wo entsteht das Wasserstoffzentrum?", Asked.PLACE),
        ("In welcher Stadt liegt das Gersteinwerk?", Asked.PLACE),
        ("Projekte Kreislaufwirtschaft Kreis Unna", None),  # keywords, no question
    ],
)
def test_question_type(question: str, asked: Asked | None, gazetteer: Gazetteer) -> None:
    assert understand_question(question, gazetteer).asked is asked


def test_question_constraints(gazetteer: Gazetteer) -> None:
    q = understand_question("Was kostet das Hammer Wasserstoffzentrum insgesamt?", gazetteer)
    assert (q.kind is FactKind.COST and "Hamm" in q.place_names[0]) or q.place_keys
    assert understand_question("Wie hoch ist der Zuschuss für Selm?", gazetteer).kind is FactKind.FUNDING
    assert understand_question("Wie viel Fördergeld bekommt Lünen?", gazetteer).kind is FactKind.FUNDING
    assert understand_question("Bis wann läuft die Studie?", gazetteer).period_end
    assert understand_question("Seit wann läuft der Verbund?", gazetteer).period_start
    count = understand_question("Wie viele öffentliche Ladepunkte gibt es?", gazetteer)
    assert count.count_noun == "ladepunkt"
    assert "wasserstoffzentrum" in understand_question("Wo entsteht das Wasserstoffzentrum?", gazetteer).subject


def test_sentences_split_at_sentence_ends_bullets_and_table_rows_not_at_abbreviations() -> None:
    text = (
        "Das Land gibt 1,2 Mio. Euro. Am 1. Juli 2022 begann der Verbund.\n"
        "• 22 Unternehmen nahmen teil\n"
        "Laufzeit | 01.12.2023 – 31.12.2024\n"
        "Ein Finanzbedarf von insgesamt\n8,4 Mio. Euro wird erwartet."
    )
    parts = [text[a:b] for a, b in sentence_spans(text)]
    assert parts == [
        "Das Land gibt 1,2 Mio. Euro.",
        "Am 1. Juli 2022 begann der Verbund.",
        "• 22 Unternehmen nahmen teil",
        "Laufzeit | 01.12.2023 – 31.12.2024",
        "Ein Finanzbedarf von insgesamt\n8,4 Mio. Euro wird erwartet.",
    ]


def hit(text: str, rank: int = 0, doc: str = "d1", title: str = "Pressemitteilung", start: int = 0) -> Hit:
    info = DocInfo(
        doc_id=doc, source=f"corpus/{doc}.html", title=title, doc_type=DocType.PRESS_RELEASE, date=None, language="de"
    )
    passage = Passage(
        annotations=annotate(text, load_gazetteer()),  # places etc. as ingest writes them
        passage_id=f"{doc}-{rank:04d}",
        doc_id=doc,
        ordinal=rank,
        text=text,
        char_start=start,
        char_end=start + len(text),
    )
    return Hit(passage, info, 1.0 - rank / 10)


def test_funding_and_cost_in_one_sentence_are_told_apart(gazetteer: Gazetteer) -> None:
    text = "Von den Gesamtkosten über 1,2 Millionen Euro trägt das 5-StandorteProgramm 1,08 Millionen Euro für die Mobilstationen in Selm."
    hits = [hit(text, start=100)]
    funding = understand_question("Wie hoch ist der Zuschuss für die Mobilstationen in Selm?", gazetteer)
    cost = understand_question("Was kosten die Mobilstationen in Selm insgesamt?", gazetteer)
    f = answer(funding, hits, gazetteer).answer
    c = answer(cost, hits, gazetteer).answer
    assert f is not None and f.value == 1_080_000 and f.fact_kind is FactKind.FUNDING
    assert c is not None and c.value == 1_200_000 and c.fact_kind is FactKind.COST
    # the citation is the sentence, with offsets into the document text
    assert f.citation.char_start == 100 and f.citation.quote == text
    assert text[f.value_start - 100 : f.value_end - 100] == "1,08 Millionen Euro"


def test_count_needs_the_counted_noun(gazetteer: Gazetteer) -> None:
    text = "Am 20. März 2024 kamen in der Ökologiestation Vertreter von 22 Unternehmen und 3 Hochschulen zum Workshop zum EcoTecHub."
    q = understand_question("Wie viele Firmen waren beim EcoTecHub-Workshop?", gazetteer)
    found = candidates(q, [hit(text)], gazetteer)
    assert {c.value for c in found} == {22, 3}  # the date's day is no count
    ranked = score(q, found, [hit(text)])
    assert ranked[0].candidate.value == 22 and ranked[0].score > ranked[1].score


def test_bis_wann_takes_the_end_of_the_period(gazetteer: Gazetteer) -> None:
    text = "Die Vorstudie zum EcoTecHub läuft vom 1. Dezember 2023 bis zum 31. Dezember 2024."
    q = understand_question("Bis wann läuft die EcoTecHub-Vorstudie?", gazetteer)
    a = answer(q, [hit(text)], gazetteer).answer
    assert a is not None and a.value == "2024-12-31"
    q = understand_question("Seit wann läuft die EcoTecHub-Vorstudie?", gazetteer)
    a = answer(q, [hit(text)], gazetteer).answer
    assert a is not None and a.value == "2023-12-01"


def test_person_names_need_a_title_or_a_role(gazetteer: Gazetteer) -> None:
    text = (
        "„Der Verbund wirkt“, sagt Anke Strothmann, die den Qualifizierungsverbund beim Kreis Unna leitet. "
        "Die Grüne Infrastruktur im Kreis Unna wächst."
    )
    q = understand_question("Wer leitet den Qualifizierungsverbund im Kreis Unna?", gazetteer)
    found = candidates(q, [hit(text)], gazetteer)
    assert [c.value for c in found] == ["Anke Strothmann"]


def test_organisations_from_the_gazetteer_and_name_patterns(gazetteer: Gazetteer) -> None:
    text = "Die Bezirksregierung Arnsberg hat den Förderbescheid für die Mobilstationen an die Stadt Selm übergeben."
    q = understand_question("Welche Behörde hat die Förderung für die Mobilstationen bewilligt?", gazetteer)
    found = candidates(q, [hit(text)], gazetteer)
    values = [c.value for c in found]
    assert "Bezirksregierung Arnsberg" in values and "Stadt Selm" in values
    best = score(q, found, [hit(text)])[0]
    assert best.candidate.value == "Bezirksregierung Arnsberg"  # a Behörde, as asked


def test_places_prefer_the_district_compound(gazetteer: Gazetteer) -> None:
    text = "Das Wasserstoffzentrum entsteht in Hamm-Uentrop im Umfeld des Kraftwerks Westfalen."
    q = understand_question("Wo genau in Hamm entsteht das Wasserstoffzentrum?", gazetteer)
    a = answer(q, [hit(text)], gazetteer).answer
    assert a is not None and a.value == "Hamm-Uentrop"


def test_no_answer_when_the_subject_is_missing_or_values_compete(gazetteer: Gazetteer) -> None:
    text = "Das Wasserstoffzentrum in Hamm-Uentrop wird mit 14,6 Mio. EUR gefördert."
    q = understand_question("Wie viel Förderung bekommt die Wasserstadt Aden in Bergkamen?", gazetteer)
    assert answer(q, [hit(text)], gazetteer).answer is None
    q = understand_question("Was kostet das Wasserstoffzentrum in Hamm insgesamt?", gazetteer)
    assert answer(q, [hit(text)], gazetteer).answer is None, "funding is no cost"
    two = [
        hit("Die Vorstudie zum EcoTecHub wird mit 150.000 Euro gefördert.", 0, "a"),
        hit("Die Vorstudie zum EcoTecHub wird mit 180.000 Euro gefördert.", 1, "b"),
    ]
    q = understand_question("Wie viel Förderung bekommt die Vorstudie zum EcoTecHub?", gazetteer)
    result = answer(q, two, gazetteer, options=AnswerOptions(margin=0.1))
    assert result.answer is None and len({r.candidate.value for r in result.ranked}) == 2


def test_agreement_across_documents_raises_the_score(gazetteer: Gazetteer) -> None:
    q = understand_question("Wie viel Förderung bekommt die Vorstudie zum EcoTecHub?", gazetteer)
    first = hit("Die Vorstudie zum EcoTecHub wird mit 150.000 Euro gefördert.", 0, "a")
    agree = [first, hit("Das Land fördert die Vorstudie zum EcoTecHub mit 150.000 Euro.", 1, "b")]
    differ = [first, hit("Das Land fördert die Vorstudie zum EcoTecHub mit 180.000 Euro.", 1, "b")]
    s_agree = next(s for s in score(q, candidates(q, agree, gazetteer), agree) if s.candidate.rank == 0)
    s_differ = next(s for s in score(q, candidates(q, differ, gazetteer), differ) if s.candidate.rank == 0)
    assert (s_agree.documents, s_differ.documents) == (2, 1)
    # the agreeing document's own score (without support), weighted, is added
    alone = {s.candidate.rank: s.score for s in score(q, candidates(q, agree, gazetteer), agree, AnswerOptions(w_agree=0))}
    assert s_agree.score == pytest.approx(alone[0] + AnswerOptions().w_agree * alone[1])
    assert s_differ.score == pytest.approx(alone[0])
