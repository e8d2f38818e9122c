"""The German lexical analyser: same features at index and query time, German-aware."""

from core.analysis import (
    AnalyserConfig,
    feature_id,
    fold,
    passage_vector,
    query_stems,
    query_vector,
    text_stems,
    tokenize,
)


def stems(text: str) -> list[str]:
    return [t.stem for t in tokenize(text)]


def test_umlauts_and_sharp_s_meet_their_folded_forms() -> None:
    assert fold("Förderung") == fold("FÖRDERUNG") == "forderung"
    assert fold("Straße") == "strasse"
    assert stems("Förderungen") == stems("Förderung")


def test_stopwords_removed_but_content_words_kept() -> None:
    assert stems("die Förderung der Projekte im Kreis Unna") == ["forder", "projekt", "kreis", "unna"]


def test_inflections_share_a_stem() -> None:
    assert set(stems("Projekt Projekte Projekten")) == {"projekt"}
    assert stems("kreislaufwirtschaftlichen")[0].startswith("kreislaufwirtschaft")


def test_hyphenated_compounds_index_whole_and_parts() -> None:
    assert stems("E-Mobilität") == ["emobilitat", "mobilitat"]
    assert "westfal" in stems("Nordrhein-Westfalen")


def test_offsets_slice_back_to_the_words() -> None:
    text = "Über 150.000 Euro für die Vorstudie in Bergkamen (§ 4 Abs. 2)."
    for tok in tokenize(text):
        assert text[tok.start : tok.end].strip() == text[tok.start : tok.end]
    assert [text[t.start : t.end] for t in tokenize(text)][:2] == ["Über", "150"]


def test_text_stems_are_the_tokens_stems_in_order() -> None:
    text = "Die E-Mobilität im Kreis Unna: 14,6 Mio. EUR für Nordrhein-Westfalens Ladepunkte (§ 4), d'Artagnan."
    assert text_stems(text) == stems(text)
    assert text_stems(text)[:2] == ["emobilitat", "mobilitat"]
    assert text_stems("") == []


def test_vectors_are_deterministic_sorted_and_positive() -> None:
    a = passage_vector("Wasserstoff für das Ruhrgebiet")
    b = passage_vector("Wasserstoff für das Ruhrgebiet")
    assert a == b
    assert list(a.indices) == sorted(set(a.indices))
    assert all(v > 0 for v in a.values)


def test_query_and_passage_share_features() -> None:
    q = set(query_vector("Kreislaufwirtschaft").indices)
    p = set(passage_vector("Projekte der kreislaufwirtschaftlichen Wertschöpfung").indices)
    assert q & p, "compound grams must overlap"
    assert feature_id("w:kreislaufwirtschaft") in q


def test_bm25_saturation_longer_passage_weighs_less() -> None:
    fid = feature_id("w:wasserstoff")
    short = passage_vector("Wasserstoff Projekt")
    long = passage_vector("Wasserstoff " + " ".join(f"wort{i}" for i in range(300)))
    w_short = dict(zip(short.indices, short.values, strict=True))[fid]
    w_long = dict(zip(long.indices, long.values, strict=True))[fid]
    assert w_long < w_short


def test_gram_weight_zero_gives_only_stem_features() -> None:
    v = query_vector("Wasserstoff", AnalyserConfig(gram_weight=0.0))
    assert v.indices == (feature_id("w:wasserstoff"),)
    assert query_stems("Die Wasserstoff-Projekte") == frozenset({"wasserstoffprojekt", "wasserstoff", "projekt"})
