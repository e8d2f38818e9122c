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
    DocumentText,
    _weights,
    answer,
    candidates,
    day_without_year,
    events,
    merge_hits,
    refers_back,
    score,
    sentence_spans,
    subject_query,
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
        ("Was hat der Grünzug zwischen Villigst und Ergste gekostet?", Asked.AMOUNT),
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
    alone = {
        s.candidate.rank: s.score for s in score(q, candidates(q, agree, gazetteer), agree, AnswerOptions(w_agree=0))
    }
    assert s_agree.score == pytest.approx(alone[0] + AnswerOptions().w_agree * alone[1])
    assert s_differ.score == pytest.approx(alone[0])


def passage(doc: str, ordinal: int, text: str, start: int, heading: tuple[str, ...] = ()) -> Passage:
    return Passage(
        passage_id=f"{doc}-{ordinal:04d}",
        doc_id=doc,
        ordinal=ordinal,
        text=text,
        char_start=start,
        char_end=start + len(text),
        heading_path=heading,
        annotations=annotate(text, load_gazetteer()),
    )


def test_a_sentence_cut_by_the_chunker_is_read_whole_with_exact_offsets(gazetteer: Gazetteer) -> None:
    # document text: "Hamm hat vier Projekte. Weitere 19,8 Mio.␣Euro fließen in die Erschließung von Uentrop-Ost."
    first = passage("d", 0, "Hamm hat vier Projekte. Weitere 19,8 Mio.", 0)
    second = passage("d", 1, "Euro fließen in die Erschließung von Uentrop-Ost.", 42)
    doc = DocumentText.of([second, first])
    assert doc.text == "Hamm hat vier Projekte. Weitere 19,8 Mio. Euro fließen in die Erschließung von Uentrop-Ost."
    info = DocInfo(doc_id="d", source="d.pdf", title="Bericht", doc_type=DocType.OTHER, date=None, language="de")
    q = understand_question("Wie viel Geld geht in die Erschließung von Uentrop-Ost?", gazetteer)
    a = answer(q, [Hit(second, info, 1.0)], gazetteer, documents={"d": doc}).answer
    assert a is not None and a.value == 19_800_000
    assert a.citation.quote == "Weitere 19,8 Mio. Euro fließen in die Erschließung von Uentrop-Ost."
    assert (a.citation.char_start, a.citation.char_end) == (24, 24 + len(a.citation.quote))
    assert doc.text[a.value_start : a.value_end] == "19,8 Mio. Euro"
    # without the document text the cut sentence has no amount in it
    assert answer(q, [Hit(second, info, 1.0)], gazetteer).answer is None


@pytest.mark.parametrize(
    ("sentence", "back"),
    [
        ("Das Vorhaben kostet rund 2,1 Millionen Euro.", True),
        ("Das Gesamtvolumen des Vorhabens liegt bei 38,5 Mio. EUR.", True),
        ("Davon übernimmt das Land 80 Prozent.", True),
        ("Dort sollen jährlich bis zu 250 Fachkräfte geschult werden.", True),
        ("Die Stadt Marl hat einen Zuwendungsbescheid erhalten.", False),
        ("Der Kreis Unna hat vier Kraftwerksstandorte.", False),
    ],
)
def test_a_sentence_that_refers_back(sentence: str, back: bool) -> None:
    assert refers_back(sentence) is back


def test_the_subject_of_a_sentence_that_refers_back_comes_from_the_sentence_before(gazetteer: Gazetteer) -> None:
    text = "Die Schwammstadt Kamen-Mitte entsiegelt Schulhöfe und Plätze. Das Vorhaben kostet rund 2,1 Millionen Euro."
    q = understand_question("Was kostet die Schwammstadt in Kamen insgesamt?", gazetteer)
    a = answer(q, [hit(text)], gazetteer).answer
    assert a is not None and a.value == 2_100_000 and a.citation.quote.startswith("Das Vorhaben kostet")


def test_the_value_next_to_the_subject_wins_in_a_sentence_with_two(gazetteer: Gazetteer) -> None:
    text = "Weitere 19,8 Mio. Euro fließen in die Erschließung von Uentrop-Ost; zwei kleinere Vorhaben umfassen 6,8 Mio. Euro."
    q = understand_question("Wie viel Geld geht in die Erschließung von Uentrop-Ost?", gazetteer)
    a = answer(q, [hit(text)], gazetteer).answer
    assert a is not None and a.value == 19_800_000
    text = "Die Studie wurde im Dezember 2022 beauftragt, Ergebnisse liegen seit Juni 2023 vor."
    q = understand_question("Wann wurde die Studie beauftragt?", gazetteer)
    a = answer(q, [hit(text)], gazetteer).answer
    assert a is not None and a.value == "2022-12"


def test_bracketed_values_belong_to_the_words_before_the_bracket(gazetteer: Gazetteer) -> None:
    text = (
        "Bedarfsanalyse: Stakeholder-Workshop (am 20.03.2024 mit 22 Unternehmen), Online-Befragung bis zum 28.06.2024."
    )
    q = understand_question("Bis wann lief die Online-Befragung?", gazetteer)
    a = answer(q, [hit(text)], gazetteer).answer
    assert a is not None and a.value == "2024-06-28"


@pytest.mark.parametrize(
    ("question", "text"),
    [
        # another town in the sentence
        (
            "Was kostet die Radverbindung zwischen Werne und Bergkamen insgesamt?",
            "Der Förderbescheid für Lünen wurde übergeben; die Gesamtkosten liegen bei rund 3,9 Mio. Euro.",
        ),
        # a Kreis is not a town in it
        ("Wie viele Einwohner hat Selm?", "Der Kreis Unna hat rund 395.000 Einwohner."),
        # another programme
        (
            "Wie viel Geld erhält Voerde aus dem 5-StandorteProgramm?",
            "Für Voerde wurden 1,4 Mio. Euro aus dem Regionalen Wirtschaftsförderungsprogramm bewilligt.",
        ),
        # another year
        (
            "Wie viele öffentliche Ladepunkte gab es Ende 2022 in Dortmund?",
            "Für 2023 erwarten wir 3.500 öffentliche Ladepunkte in Dortmund.",
        ),
        # a long compound the question names is missing
        ("Was kostet die Wasserstofftankstelle in Hamm?", "Das Wasserstoffzentrum in Hamm kostet 38,5 Mio. Euro."),
        # the role the question asks for is missing
        ("Wer ist Bürgermeister von Lünen?", "Ansprechpartnerin der Stadt Lünen: Petra Wolsing (Stadtentwicklung)"),
        # a multi-word name the question names is named only in part: another facility, another office
        (
            "Wann wurde das Kraftwerk Scholven stillgelegt?",
            "Das ältere Kraftwerk in Lippholthausen ist seit Ende 2018 stillgelegt.",
        ),
        (
            "Wer leitet das Projektbüro Kraftwerk?",
            "„Wir gestalten den Wandel selbst“, sagt Nadine Kowalczyk, die das Transformationsbüro leiten wird.",
        ),
    ],
)
def test_no_answer_from_a_sentence_about_something_else(question: str, text: str, gazetteer: Gazetteer) -> None:
    q = understand_question(question, gazetteer)
    assert answer(q, [hit(text)], gazetteer).answer is None


def test_a_value_for_the_region_counts_less_for_a_town(gazetteer: Gazetteer) -> None:
    q = understand_question("Wie viele öffentliche Ladepunkte gibt es in Bottrop?", gazetteer)
    region = answer(q, [hit("In der Region gibt es 3.500 öffentliche Ladepunkte.")], gazetteer).ranked[0]
    town = answer(q, [hit("In Bottrop gibt es 3.500 öffentliche Ladepunkte.")], gazetteer).ranked[0]
    assert region.candidate.place_conflict and not town.candidate.place_conflict
    assert region.score < town.score * AnswerOptions().conflict_penalty + 1e-9


def test_a_sentence_without_place_is_about_the_place_of_its_section(gazetteer: Gazetteer) -> None:
    text = "Zwei kleinere Vorhaben wurden bewilligt."
    info = DocInfo(doc_id="d", source="d.pdf", title="Bericht", doc_type=DocType.OTHER, date=None, language="de")
    q = understand_question("Wie viele Vorhaben wurden im Kreis Unna bewilligt?", gazetteer)
    in_hamm = Hit(passage("d", 0, text, 0, ("4.3 Hamm",)), info, 1.0)
    assert answer(q, [in_hamm], gazetteer).answer is None
    in_unna = Hit(passage("d", 0, text, 0, ("4.5 Kreis Unna",)), info, 1.0)
    a = answer(q, [in_unna], gazetteer).answer
    assert a is not None and a.value == 2


def test_a_finer_date_of_the_same_fact_is_no_rival_and_is_preferred(gazetteer: Gazetteer) -> None:
    hits = [
        hit("Beim Stakeholder-Workshop im März 2024 haben 22 Unternehmen mitgemacht.", 0, "a"),
        hit("Der Stakeholder-Workshop fand am 20. März 2024 in Bergkamen statt.", 1, "b"),
    ]
    q = understand_question("Wann fand der Stakeholder-Workshop statt?", gazetteer)
    a = answer(q, hits, gazetteer).answer
    assert a is not None and a.value == "2024-03-20"


def test_a_day_without_year_takes_the_next_year_of_its_sentence_or_the_document_date() -> None:
    text = "Online-Befragung vom 13. Mai bis 28. Juni 2024"
    assert day_without_year(text, None) == [(21, 28, "2024-05-13")]
    assert day_without_year("Der Workshop ist am 20. März.", "2024-02-28") == [(20, 28, "2024-03-20")]
    assert day_without_year("Der Workshop ist am 20. März.", None) == []
    assert day_without_year("am 20. März 2024", None) == []  # has its year: find_dates reads it


def test_period_verbs_after_the_date(gazetteer: Gazetteer) -> None:
    text = "Die Ruhr-Konferenz wurde 2018 von der Landesregierung ins Leben gerufen. Ihr Fortschrittsbericht 2021 liegt vor."
    q = understand_question("Seit wann gibt es die Ruhr-Konferenz?", gazetteer)
    a = answer(q, [hit(text)], gazetteer).answer
    assert a is not None and a.value == "2018"


def test_the_organisation_of_the_asked_class_next_to_the_role(gazetteer: Gazetteer) -> None:
    text = "Vorstudie | Hochschule Bochum (Koordination), Westfälische Hochschule"
    q = understand_question("Welche Hochschule koordiniert die Vorstudie?", gazetteer)
    a = answer(q, [hit(text)], gazetteer).answer
    assert a is not None and a.value == "Hochschule Bochum"


def test_a_place_in_a_quoted_name_or_outside_the_asked_area_is_no_answer(gazetteer: Gazetteer) -> None:
    q = understand_question("Wo fand der Workshop statt?", gazetteer)
    text = "Zum Workshop lädt das Team der Vorstudie „EcoTecHub Bergkamen“ ein."
    assert answer(q, [hit(text)], gazetteer).answer is None
    q = understand_question("Wo soll das Technikum im Kreis Unna entstehen?", gazetteer)
    text = "Ein Technikum entsteht im Chemiepark Marl."
    assert answer(q, [hit(text)], gazetteer).answer is None


def test_question_words_that_are_no_subject(gazetteer: Gazetteer) -> None:
    q = understand_question("Wie viele Stellungnahmen kamen bei der Bürgerbeteiligung in Voerde zusammen?", gazetteer)
    assert q.place_names == ("Voerde",), "the verb 'kamen' is not the town Kamen"
    q = understand_question("Wann soll das Wasserstoffzentrum in Betrieb gehen?", gazetteer)
    assert "soll" not in q.subject and "wasserstoffzentrum" in q.subject
    assert "geh" in q.lowercase and "wasserstoffzentrum" not in q.lowercase
    q = understand_question("Wie viel Geld war im Programm bis Ende 2023 insgesamt bewilligt?", gazetteer)
    assert q.kind is FactKind.FUNDING, "'bewilligt' says funding; 'insgesamt' alone would say cost"


def test_the_words_before_an_amount_state_its_kind(gazetteer: Gazetteer) -> None:
    text = "Von den Gesamtkosten über 1,2 Millionen Euro trägt das 5-StandorteProgramm 1,08 Millionen Euro."
    found = {
        c.value: c.fact_kind
        for c in candidates(understand_question("Wie hoch ist der Zuschuss?", gazetteer), [hit(text)], gazetteer)
    }
    assert found == {1_200_000: FactKind.COST, 1_080_000: FactKind.FUNDING}
    q = understand_question("Wie hoch ist der Zuschuss aus dem 5-StandorteProgramm für die Mobilstationen?", gazetteer)
    a = answer(q, [hit("Mobilstationen: " + text)], gazetteer).answer
    assert a is not None and a.value == 1_080_000


def test_a_multi_word_name_is_found_whole(gazetteer: Gazetteer) -> None:
    q = understand_question("Wann wurde das Kraftwerk Scholven im Kreis Unna stillgelegt?", gazetteer)
    assert set(q.names) == {"kraftwerk", "scholv"}  # not the place, not the question word
    q = understand_question("Wann wurde das Kraftwerk Scholven stillgelegt?", gazetteer)
    text = "Das Kraftwerk Scholven ist seit Ende 2018 stillgelegt."
    a = answer(q, [hit(text)], gazetteer).answer
    assert a is not None and a.value == "2018"


def test_towns_in_the_name_of_a_canal_or_street_and_in_an_enumeration_are_no_answer(gazetteer: Gazetteer) -> None:
    q = understand_question("Wo liegt die frühere Schachtanlage?", gazetteer)
    text = "Das Gelände der früheren Schachtanlage liegt im Norden des Stadtteils Oberaden, am Datteln-Hamm-Kanal."
    a = answer(q, [hit(text)], gazetteer).answer
    assert a is not None and a.value == "Oberaden"  # the genitive "des Stadtteils", not the canal's towns
    q = understand_question("Wo sitzt das Büro?", gazetteer)
    text = "Das Büro hält den Kontakt zu den Standorten Duisburg, Gelsenkirchen, Hamm und Kreis Unna."
    assert all(c.cue <= 0.5 for c in candidates(q, [hit(text)], gazetteer))
    assert answer(q, [hit(text)], gazetteer).answer is None


def test_a_decade_is_no_date(gazetteer: Gazetteer) -> None:
    q = understand_question("Wann hat das Büro seine Arbeit aufgenommen?", gazetteer)
    text = "Am Standort des Büros wird seit den 1960er-Jahren Strom erzeugt."
    assert candidates(q, [hit(text)], gazetteer) == []


def test_one_event_in_other_words() -> None:
    assert events("Wann hat das Büro seine Arbeit aufgenommen?") == {"start"}
    assert events("Start war am 1. Oktober 2022.") == {"start"}
    assert events("Das Kraftwerk ging 2013 in Betrieb.") == {"start"}
    assert events("Die letzten Kraftwerke gehen 2038 vom Netz.") == {"end"}
    assert events("Der Förderbescheid wurde übergeben.") == {"funding"}
    assert events("Das Gründungszentrum und die Bewilligungsbehörde") == frozenset()  # things, not events


def test_a_date_of_another_event_counts_less(gazetteer: Gazetteer) -> None:
    q = understand_question("Wann wurde das Kraftwerk stillgelegt?", gazetteer)
    text = "Das Kraftwerk ging 2013 in Betrieb und wurde 2021 stillgelegt."
    a = answer(q, [hit(text)], gazetteer).answer
    assert a is not None and a.value == "2021"
    q = understand_question("Wann hat das Transformationsbüro seine Arbeit aufgenommen?", gazetteer)
    text = "Start des Transformationsbüros war der 1. Oktober 2022."
    a = answer(q, [hit(text)], gazetteer).answer
    assert a is not None and a.value == "2022-10-01"


def test_a_table_cell_is_read_with_its_column_name(gazetteer: Gazetteer) -> None:
    q = understand_question("Wann eröffnet der Campus Kreislaufwirtschaft?", gazetteer)
    text = "Projekt | Ort | Förderung | Bewilligung\n\nCampus Kreislaufwirtschaft | Unna | 6,4 Mio. € | 2022"
    (c,) = [c for c in candidates(q, [hit(text)], gazetteer) if c.value == "2022"]
    assert c.near.startswith("Bewilligung")
    # the year of the approval, not of the opening: it counts less than the same row without column names
    (alone,) = score(q, candidates(q, [hit(text.split("\n\n")[1])], gazetteer), [hit(text)])
    (with_names,) = score(q, [c], [hit(text)])
    assert with_names.score < alone.score


def test_a_total_over_many_is_no_answer_for_one(gazetteer: Gazetteer) -> None:
    q = understand_question("Wie viel JTF-Förderung hat Bottrop bekommen?", gazetteer)
    text = "Insgesamt stehen 45 Mio. Euro aus dem Just Transition Fund bereit."
    (c,) = candidates(q, [hit(text)], gazetteer)
    assert c.total_for_a_part
    q = understand_question("Wie viel JTF-Förderung steht insgesamt bereit?", gazetteer)
    assert not any(c.total_for_a_part for c in candidates(q, [hit(text)], gazetteer))


def test_a_person_question_is_not_answered_by_its_own_words(gazetteer: Gazetteer) -> None:
    q = understand_question("Wer leitet das Projektbüro Kraftwerk?", gazetteer)
    text = "Kontakt: Projektbüro Kraftwerk, kraftwerk@example.org"
    assert candidates(q, [hit(text)], gazetteer) == []


def test_a_programme_total_is_not_answered_by_one_towns_share(gazetteer: Gazetteer) -> None:
    q = understand_question("Wie viel Geld war im 5-StandorteProgramm insgesamt bewilligt?", gazetteer)
    text = "Bis Ende 2023 wurden sieben Projekte mit 47,5 Mio. Euro bewilligt, koordiniert für den Kreis Unna."
    (c,) = candidates(q, [hit(text)], gazetteer)
    assert c.total_for_a_part


def test_the_opposite_adjective_or_a_plan_contradicts_the_question(gazetteer: Gazetteer) -> None:
    q = understand_question("Wie viele öffentliche Ladepunkte gibt es in Dortmund?", gazetteer)
    text = "In Dortmund können an 18 Ladepunkten private E-Fahrzeuge Strom tanken."
    assert all(c.contradicts for c in candidates(q, [hit(text)], gazetteer))
    q = understand_question("Wie viele Lückenschlüsse waren Ende 2022 umgesetzt?", gazetteer)
    text = "Ziel für 2023: weitere zehn Lückenschlüsse."
    assert all(c.contradicts for c in candidates(q, [hit(text)], gazetteer))
    text = "Bis Ende 2022 waren 31 Lückenschlüsse umgesetzt."
    assert not any(c.contradicts for c in candidates(q, [hit(text)], gazetteer))


def test_the_second_search_asks_for_the_subject_alone_and_adds_what_the_first_missed() -> None:
    assert subject_query("Wann hat das Transformationsbüro in Herne seine Arbeit aufgenommen?") == (
        "Transformationsbüro Herne seine Arbeit aufgenommen"
    )
    first = [hit("eins", rank=0), hit("zwei", rank=1)]
    second = [hit("zwei", rank=1), hit("drei", rank=2, doc="d2"), hit("vier", rank=3, doc="d3")]
    merged = merge_hits(first, second, limit=2, extra=1)
    assert [h.passage.text for h in merged] == ["eins", "zwei", "drei"]


def test_the_date_of_a_report_and_an_amount_without_limit(gazetteer: Gazetteer) -> None:
    assert events("Herausgeber: Hochschule Bochum\nStand: 15.10.2024") == {"document"}
    q = understand_question("Wann wurden die Mittel für die Vorstudie bewilligt?", gazetteer)
    text = "Sachstandsbericht Vorstudie\nStand: 15.10.2024"
    assert answer(q, [hit(text)], gazetteer).answer is None  # the report's date, not the approval's
    q = understand_question("Wie hoch darf eine Studie höchstens gefördert werden?", gazetteer)
    got = "Die Studie wurde mit 150.000 Euro gefördert."
    cap = "Eine Studie wird mit bis zu 200.000 Euro gefördert."
    (one,) = score(q, candidates(q, [hit(got)], gazetteer), [hit(got)])
    (limit,) = score(q, candidates(q, [hit(cap)], gazetteer), [hit(cap)])
    assert limit.score > 1.5 * one.score


def test_the_weights_do_not_depend_on_the_order_of_the_subject_words() -> None:
    # the subject is a frozenset, iterated in another order in every process (string hashes are salted):
    # the weights come in one order, so a score sums them alike everywhere (same scores, bit for bit)
    texts = ["Die Vorstudie zum EcoTecHub in Bergkamen kostet 150.000 Euro.", "Der Workshop fand im Mai statt."]
    words = ["vorstudi", "ecotechub", "bergkam", "workshop", "kost", "mai"]
    weights = [_weights(order, texts) for order in (words, words[::-1], sorted(words, key=len))]
    assert all(list(w.items()) == list(weights[0].items()) for w in weights)
