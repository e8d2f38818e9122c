"""``core.model.tokenizer``: the compact Unigram tokenizer gives exactly the ids ``tokenizers`` gives.

The reference is ``tokenizers`` itself on the default model's ``tokenizer.json`` (XLM-R's 250,002
pieces, from the installed package the model is provisioned from): padded batches of ids and
attention masks must be equal, on the sample corpus, on hostile text and on seeded random strings.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers

from core.model.encoder import TransformerEncoder
from core.model.install import default_tokenizer_path
from core.model.tokenizer import FastTokenizer, UnigramTokenizer, load_tokenizer, supported

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAX_LENGTH = 512
PAD_ID = 1

HOSTILE = [
    "",
    " ",
    " \t\n\r\n  ",
    "Förderung der Kreislaufwirtschaft im Kreis Unna",
    "FOERDERUNG  foerderung\tFÖRDERUNG",
    "E-Mobilität, CO₂-Reduktion, 4,2 Mio. €, §§ 3–7, 1.118,50 EUR",
    "Braunkohlesanierung und Steinkohlenbergbau im Ruhrgebiet",
    # pieces of equal total score: the first path found must win, as in tokenizers
    '// =================== ==== ===== r===win auto"===e',
    "v0.1.0 aa268e E5NSA0 OTczNSA3 6957;69542:0",
    "<s>",
    "a<s>b",
    "<mask> Wort <unk> x </s></s> <pad>y <<s>> <mas<mask>k>",
    "\U000f0000\U000f0001\U000f0002 unbekannte Zeichen \u0e80x\u0e80\u0e80 \ue000\ue001",  # a run: one <unk>
    "a\u0301\u0301 e\u0301 \u05b7 ְ \u0652 \u0314 combining marks after spaces",
    "NEL\x85Zeile\u2028Trenner\u2029Absatz\u3000Ideogramm\u00a0NBSP\u200bZWSP\ufeffBOM",
    "\x00\x01\x7f\x9f Steuerzeichen",
    "🤖 Emoji 😀👍🏽 中文字符测试 العربية עברית ﬁ ① ＦＵＬＬ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \U0010ffff",
    "\u2581 Metazeichen \u2581\u2581x",
    "Wort " * 700,  # truncated to 512 tokens
    "Donaudampfschifffahrtsgesellschaft" * 600,  # one word of 20,400 characters
    "<s>" * 600,
]


def _reference() -> FastTokenizer:
    return FastTokenizer(default_tokenizer_path(), max_length=MAX_LENGTH, pad_id=PAD_ID)


@pytest.fixture(scope="module")
def compact() -> UnigramTokenizer:
    tokenizer = UnigramTokenizer.from_file(default_tokenizer_path(), max_length=MAX_LENGTH, pad_id=PAD_ID)
    assert tokenizer is not None, "the default model's tokenizer.json should be of the supported shape"
    return tokenizer


@pytest.fixture(scope="module")
def reference() -> FastTokenizer:
    return _reference()


def _sample_texts() -> list[str]:
    """Every line of the sample corpus's text files (markup as it is, and without its tags), and the
    whole files (beyond 512 tokens)."""
    texts: list[str] = []
    for path in sorted((PROJECT_ROOT / "corpus" / "sample").iterdir()):
        if path.suffix in (".html", ".md", ".txt"):
            raw = path.read_text(encoding="utf-8")
            lines = [line for line in raw.splitlines() if line.strip()]
            texts += [raw, *lines, *(re.sub(r"<[^>]+>", " ", line) for line in lines)]
    return texts


def _random_texts(n: int, seed: int = 7) -> list[str]:
    alphabet = "abcäöüßÄÖÜ 0123456789.,;:-–_/\\()[]{}<>\"'`´^°§$%&€@#*+=~|\t\n\u00a0\u200béèñçøł🙂中ع\x00\x7f\ue000"
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(n)]


def _assert_same(compact: UnigramTokenizer, reference: FastTokenizer, texts: list[str]) -> None:
    for start in range(0, len(texts), 16):
        chunk = texts[start : start + 16]
        mine, theirs = compact.batch(chunk), reference.batch(chunk)
        if mine != theirs:
            for text, a, b in zip(chunk, mine[0], theirs[0], strict=True):
                assert a == b, f"ids differ for {text[:80]!r}"
            assert mine[1] == theirs[1], f"attention masks differ in batch {chunk!r}"


def test_the_default_tokenizer_takes_the_compact_path() -> None:
    assert isinstance(load_tokenizer(default_tokenizer_path(), max_length=MAX_LENGTH, pad_id=PAD_ID), UnigramTokenizer)


def test_ids_equal_tokenizers_on_the_sample_corpus(compact: UnigramTokenizer, reference: FastTokenizer) -> None:
    texts = _sample_texts()
    assert len(texts) > 300
    _assert_same(compact, reference, texts)


def test_ids_equal_tokenizers_on_hostile_text(compact: UnigramTokenizer, reference: FastTokenizer) -> None:
    _assert_same(compact, reference, HOSTILE)
    for text in HOSTILE:  # alone as well: a batch of one pads nothing
        _assert_same(compact, reference, [text])


def test_ids_equal_tokenizers_on_random_strings(compact: UnigramTokenizer, reference: FastTokenizer) -> None:
    _assert_same(compact, reference, _random_texts(3000))


def test_ids_and_template(compact: UnigramTokenizer) -> None:
    """What the model reads: <s> ... </s>, a run of unknown characters as one <unk>, special tokens
    written in the text as themselves, at most ``max_length`` ids."""
    ids = compact.encode("Kreis Unna")
    assert ids[0] == 0 and ids[-1] == 2 and len(ids) > 3
    assert compact.encode("") == [0, 2]
    assert compact.encode("\U000f0000\u0e80\U00020000") == [
        0,
        compact.piece_id("▁"),
        compact.unk_id,
        2,
    ]  # one fused <unk>
    assert compact.encode("<mask>") == [0, 250001, 2]
    assert len(compact.encode("Wort " * 700)) == MAX_LENGTH
    misses = compact._cached.cache_info().misses
    compact.encode("Donaudampfschifffahrtsgesellschaft" * 3)  # 102 characters: segmented, not cached
    assert compact._cached.cache_info().misses == misses
    compact.encode("Zwischenlagerungsgenehmigungsverfahrensordnung")  # 46: goes through the cache
    assert compact._cached.cache_info().misses == misses + 1
    ids, masks = compact.batch(["Kreis", "Kreis Unna Bergkamen"])
    assert len(ids[0]) == len(ids[1]) and ids[0][-1] == PAD_ID and masks[0][-1] == 0 and all(masks[1])


def test_count_tokens_counts_what_the_model_reads(compact: UnigramTokenizer, reference: FastTokenizer) -> None:
    encoder = TransformerEncoder(module=None, tokenizer=compact, dim=384, max_length=MAX_LENGTH)  # type: ignore[arg-type]
    texts = ["Kreis Unna", "Wort " * 700, ""]
    # <s> ▁Kreis ▁Un na </s>; 512 (truncated); <s> </s>
    assert encoder.count_tokens(texts) == sum(sum(m) for m in reference.batch(texts)[1]) == 5 + 512 + 2


def _word_level(tmp_path: Path) -> Path:
    tokenizer = Tokenizer(models.WordLevel({"[UNK]": 0, "kreis": 1, "unna": 2}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    path = tmp_path / "tokenizer.json"
    path.write_text(tokenizer.to_str(), encoding="utf-8")
    return path


def test_other_tokenizers_run_through_tokenizers(tmp_path: Path) -> None:
    path = _word_level(tmp_path)
    assert UnigramTokenizer.from_file(path, max_length=8, pad_id=0) is None
    fallback = load_tokenizer(path, max_length=8, pad_id=0)
    assert isinstance(fallback, FastTokenizer)
    assert fallback.batch(["kreis unna", "kreis"]) == ([[1, 2], [1, 0]], [[1, 1], [1, 0]])
    assert UnigramTokenizer.from_file(tmp_path / "missing.json", max_length=8, pad_id=0) is None


@pytest.mark.parametrize(
    "change",
    [
        lambda spec: spec["model"].update(byte_fallback=True),
        lambda spec: spec["added_tokens"][0].update(special=False),
        lambda spec: spec["added_tokens"][0].update(lstrip=True),
        lambda spec: spec["added_tokens"][0].update(normalized=True),
        lambda spec: spec["post_processor"].update(type="BertProcessing"),
        lambda spec: spec["post_processor"]["single"].append({"Sequence": {"id": "B", "type_id": 1}}),
        lambda spec: spec["model"].update(unk_id=None),
    ],
)
def test_shapes_the_compact_tokenizer_does_not_reproduce_are_refused(change: object) -> None:
    spec = json.loads(default_tokenizer_path().read_text(encoding="utf-8"))
    assert supported(spec)
    change(spec)  # type: ignore[operator]
    assert not supported(spec)


def test_a_small_vocabulary_where_every_rule_decides(tmp_path: Path) -> None:
    """A crafted vocabulary on which the unknown-character penalty, the order of equal-score paths and
    the longest-first match of overlapping special tokens each change the ids."""
    vocab = [("<unk>", 0.0), ("x", 5.0), ("xq", -30.0), ("a", -1.0), ("b", -2.0), ("ab", -3.0), ("ba", -3.0)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=0, byte_fallback=False))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer.add_special_tokens(["<x>", "<x>y"])
    path = tmp_path / "tokenizer.json"
    path.write_text(tokenizer.to_str(), encoding="utf-8")
    compact = UnigramTokenizer.from_file(path, max_length=64, pad_id=0)
    assert compact is not None
    reference = FastTokenizer(path, max_length=64, pad_id=0)
    texts = ["xqa", "aba bab abab", "<x>y<x> a<x>yb", "zz xqz", "q"]
    _assert_same(compact, reference, texts)
    assert compact.encode("xqa") == [2, 3]  # "x" + <unk> + "a" would score 5 + (-35) - 1 > -31 with a penalty of 1
    assert compact.encode("aba") == [3, 6]  # "a"+"ba" (found from position 1) ties "ab"+"a" at -4 and stays
    assert compact.encode("<x>y<x>") == [8, 7]
