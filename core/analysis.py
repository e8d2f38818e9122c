"""The German lexical analyser: how text becomes a sparse vector, identically for passages and queries.

Pipeline per word: Unicode NFKC -> lower case -> ß/umlaut folding -> stopword removal -> Snowball
German stem (PyStemmer) -> feature ``w:<stem>``; plus, for compound handling, the character 4-grams of
the folded word with boundary markers (``g:#kre``, ``g:krei`` ...), so "Kreislaufwirtschaft" shares
features with "Kreislauf" and "Wirtschaft".

Weights: passages get BM25's saturated term frequency ``tf*(k1+1) / (tf + k1*(1-b+b*dl/avgdl))``
(Robertson & Zaragoza 2009, "The Probabilistic Relevance Framework: BM25 and Beyond"); the IDF factor
is applied inside Qdrant (sparse vector with the IDF modifier), so the product is BM25. Queries get
their term counts (grams scaled by ``gram_weight``). Feature ids are a stable 31-bit hash
(blake2b), so they never depend on process or vocabulary state.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from core.store.base import SparseVec

# German function words. Short and conservative: negations ("nicht", "kein") and words that carry
# meaning in funding texts ("mehr", "neu") stay searchable.
STOPWORDS = frozenset(
    """
    aber als also am an auch auf aus bei beim bin bis bist da dadurch daher damit dann darf darum das
    dass daß dein deine dem den denen der deren des deshalb dessen die dies diese diesem diesen dieser
    dieses doch dort du durch ein eine einem einen einer eines er es etwa euer eure für fuer gegen hat
    hatte hatten hier hin hinter ich ihr ihre ihrem ihren ihrer ihres im in ins ist ja jede jedem jeden
    jeder jedes jedoch jene jenem jenen jener jenes man mit nach nachdem ob oder ohne seid sein seine
    seinem seinen seiner seines selbst sich sie sind so sowie über ueber um und uns unser unsere unter
    vom von vor wann war waren warum was weil welche welchem welchen welcher welches wenn wer werde
    werden wie wieder wir wird wo woher wohin wurde wurden zu zum zur zwar zwischen sowohl bzw usw
    the of and to in is for on with
    """.split()
)

_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
_FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss", "ẞ": "ss"})

K1 = 1.2
B = 0.75


@dataclass(frozen=True)
class AnalyserConfig:
    """Knobs of the lexical analyser. Changing them requires re-indexing (they shape the vectors)."""

    ngram: int = 4
    gram_weight: float = 0.5
    avg_stems: float = 70.0
    avg_grams: float = 550.0


@dataclass(frozen=True)
class Token:
    """A word of the original text at ``text[start:end]`` with its normalised stem."""

    start: int
    end: int
    stem: str


@lru_cache(maxsize=50_000)  # a word is folded once per process, not once per passage it occurs in
def fold(word: str) -> str:
    """Lower case with umlauts and ß folded, so "Förderung"/"Foerderung"/"FÖRDERUNG" meet."""
    return unicodedata.normalize("NFKC", word).lower().translate(_FOLD)


_TRANSLIT: dict[int, str] = {ord("ä"): "ae", ord("ö"): "oe", ord("ü"): "ue", ord("ß"): "ss"}


def transliterate(text: str) -> str:
    """Lower case with umlauts written out as German writes them without ("Lünen" -> "luenen"): the key
    under which names and project words meet. ``fold`` maps ü to u instead, for the index's stems."""
    return text.casefold().translate(_TRANSLIT)


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer  # PyStemmer: Snowball's German stemmer

    return Stemmer.Stemmer("german")


@lru_cache(maxsize=200_000)
def stem(folded: str) -> str:
    return str(_stemmer().stemWord(folded))


def tokenize(text: str) -> Iterator[Token]:
    """Words of ``text`` (hyphenated compounds split into parts too) with offsets into ``text``."""
    for start, end, stem_ in stem_spans(text):
        yield Token(start, end, stem_)


def stem_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """``tokenize`` as plain ``(start, end, stem)`` tuples: what highlighting walks for every shown
    passage, without a ``Token`` per word."""
    for m in _WORD.finditer(text):
        offset = m.start()
        for a, b, stem_ in word_stems(m.group(0)):
            yield offset + a, offset + b, stem_


def text_stems(text: str) -> list[str]:
    """The stems of ``text`` in order: ``tokenize`` without the offsets (a direct answer stems its
    sentences and their contexts, ~2,000 words a question)."""
    return [st for word in _WORD.findall(text) for _start, _end, st in word_stems(word)]


@lru_cache(maxsize=200_000)  # a passage repeats its words, and a corpus its vocabulary
def word_stems(word: str) -> tuple[tuple[int, int, str], ...]:
    """The stems of one word of ``_WORD`` with their offsets in it: the word, and for a hyphenated
    compound the joined compound ("E-Mobilität" -> "emobilitat", searchable as one word) and each part.
    Stopwords and single letters are left out."""
    parts = [(0, len(word), word)]
    if "-" in word:
        pos = 0
        for part in word.split("-"):
            parts.append((pos, pos + len(part), part))
            pos += len(part) + 1
        parts[0] = (0, len(word), word.replace("-", ""))
    out = []
    for start, end, w in parts:
        folded = fold(w)
        if not folded or folded in STOPWORDS:
            continue
        if len(folded) == 1 and not folded.isdigit():
            continue
        out.append((start, end, stem(folded)))
    return tuple(out)


def _grams(word: str, n: int) -> Iterator[str]:
    padded = f"#{word}#"
    if len(padded) <= n:
        yield padded
        return
    for i in range(len(padded) - n + 1):
        yield padded[i : i + n]


def features(text: str, config: AnalyserConfig) -> tuple[Counter[str], Counter[str]]:
    """Stem features and character n-gram features of ``text`` with their counts."""
    stems: Counter[str] = Counter()
    grams: Counter[str] = Counter()
    for _start, _end, stem_ in stem_spans(text):
        stems["w:" + stem_] += 1
        if not stem_.isdigit():
            for g in _grams(stem_, config.ngram):
                grams["g:" + g] += 1
    return stems, grams


@lru_cache(maxsize=500_000)
def feature_id(feature: str) -> int:
    """A stable 31-bit id for a feature string."""
    return int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=4).digest(), "little") & 0x7FFFFFFF


def _to_sparse(weights: dict[int, float]) -> SparseVec:
    items = sorted((i, w) for i, w in weights.items() if w > 0)
    return SparseVec(indices=tuple(i for i, _ in items), values=tuple(float(w) for _, w in items))


def _add(weights: dict[int, float], feature: str, value: float) -> None:
    fid = feature_id(feature)
    weights[fid] = weights.get(fid, 0.0) + value  # a hash collision adds up instead of overwriting


def passage_vector(text: str, config: AnalyserConfig = AnalyserConfig()) -> SparseVec:
    """BM25 document-side weights (saturated tf with length normalisation) of a passage."""
    stems, grams = features(text, config)
    weights: dict[int, float] = {}
    for counts, avg in ((stems, config.avg_stems), (grams, config.avg_grams)):
        dl = sum(counts.values())
        norm = K1 * (1 - B + B * dl / avg)
        for feat, tf in counts.items():
            _add(weights, feat, tf * (K1 + 1) / (tf + norm))
    return _to_sparse(weights)


def query_vector(text: str, config: AnalyserConfig = AnalyserConfig()) -> SparseVec:
    """Query-side weights: term counts, with n-gram features scaled by ``gram_weight``."""
    stems, grams = features(text, config)
    weights: dict[int, float] = {}
    for feat, tf in stems.items():
        _add(weights, feat, float(tf))
    if config.gram_weight > 0:
        for feat, tf in grams.items():
            _add(weights, feat, config.gram_weight * tf)
    return _to_sparse(weights)


def query_stems(text: str) -> frozenset[str]:
    """The stems of a query, for highlighting."""
    return frozenset(text_stems(text))
