"""How a direct answer matches the question's words in a text (``search.answer.StemIndex``): looked up, it
must decide every (word, text) pair exactly as the rules compare a word with each stem."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from core.analysis import text_stems
from search.answer import (
    StemIndex,
    _derived,
    _event_of,
    _match_strength,
    _stem_match,
    _variant,
    stem_index,
)

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "sample"


def pair_strength(word: str, stem: str) -> float:
    """The rules, one stem at a time: the word itself or a compound of it 1; the word inside a compound or
    another form of it 0.75; a part of the word 0.5."""
    if word == stem or (len(word) >= 5 and len(stem) > len(word) and (stem.startswith(word) or stem.endswith(word))):
        return 1.0
    if (len(word) >= 6 and word in stem) or _derived(word, stem) or _variant(word, stem):
        return 0.75
    if len(stem) >= 5 and len(word) > len(stem) and (word.startswith(stem) or word.endswith(stem)):
        return 0.5
    return 0.0


def strength_by_rules(word: str, stems: list[str]) -> float:
    best = max((pair_strength(word, s) for s in stems), default=0.0)
    if best < 0.75 and (event := _event_of(word)) and any(_event_of(s) == event for s in stems):
        best = 0.75  # another word for the same event
    return best


@pytest.fixture(scope="module")
def vocabulary() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.iterdir()) if p.suffix in (".html", ".md", ".txt")]
    words = {s for text in texts for s in text_stems(text)}
    return sorted(words)


def test_the_index_decides_like_the_rules_stem_by_stem(vocabulary: list[str]) -> None:
    rng = random.Random(7)
    strengths = set()
    for _ in range(1000):
        stems = rng.sample(vocabulary, rng.randint(1, 120))
        index = StemIndex(stems)
        inner = rng.choice(stems)
        words = [
            *rng.sample(vocabulary, 4),
            inner,
            inner[: rng.randint(3, max(3, len(inner) - 1))],  # a first part
            inner[rng.randint(1, max(1, len(inner) - 3)) :],  # a last part
            inner[1:-1],  # the middle
            inner[:7] + rng.choice(["ung", "en", "iert", "ation"]),  # another form
            rng.choice(["wasserstoff", "validierungs", "info", "gesamt"]) + inner,  # a compound of it
        ]
        for w in words:
            expected = strength_by_rules(w, stems)
            assert _match_strength(w, index) == expected, (w, stems)
            assert index.matches(w) == any(_stem_match(w, s) for s in stems), (w, stems)  # ``_weights``' df
            strengths.add(expected)
    assert strengths == {0.0, 0.5, 0.75, 1.0}  # every rule was met on the way


@pytest.mark.parametrize(
    ("word", "text", "strength"),
    [
        ("zentrum", "Das Wasserstoffzentrum in Herten", 1.0),
        ("betrieb", "nach der Inbetriebnahme", 0.75),
        ("koordiniert", "die Koordination liegt bei der Hochschule", 0.75),
        ("aufgenomm", "Start war im Oktober", 0.75),  # another word for the same event
        ("validierungsworkshop", "ein Workshop im Mai", 0.5),
        ("vorstudi", "Das Land finanziert das Projekt", 0.0),
    ],
)
def test_strength_of_a_word_in_a_text(word: str, text: str, strength: float) -> None:
    assert _match_strength(word, stem_index(text)) == strength


@pytest.mark.parametrize(
    ("word", "stems"),
    [
        ("xabcdefgh", ["xabcyabcdefgh"]),  # the shortest variant: 9 letters, a head of 8, the same first 4
        ("abcdefgh", ["abcdefgxy"]),  # a derived form: 7 shared letters (a 7-letter word would be a part)
        ("abcde", ["zzabcde"]),  # the shortest word whose compound counts whole
        ("abcdef", ["zabcdefz"]),  # the shortest word found inside a compound
        ("abcdefz", ["abcde"]),  # the shortest part
        ("abcd", ["abcdxyz"]),  # too short for any of them
    ],
)
def test_the_shortest_words_each_rule_takes(word: str, stems: list[str]) -> None:
    assert _match_strength(word, StemIndex(stems)) == strength_by_rules(word, stems)
    assert strength_by_rules(word, stems) > 0 or len(word) < 5
