"""A Unigram tokenizer (the XLM-R / multilingual-e5 kind) in compact Python tables, ids identical to
``tokenizers``.

``tokenizers`` builds its Unigram model's lookup as a byte trie with a hash map in every node: for the
250,002 pieces of the XLM-R vocabulary that is about 290 MB of resident memory in every process that
embeds (a fifth of the serving process at 100k passages). Here the pieces live in a MARISA trie
(``marisa-trie``: a few MB, which also lists the pieces that start a word at a position, short to long,
in one call) with an array from its key ids to the vocabulary's ids, and one array of scores: the
process holds about 33 MiB after loading it instead of 83 MiB with a dict of the pieces. The best
segmentation of each word is found with the same dynamic programme ``tokenizers`` runs
(``Unigram::encode_optimized``): positions in order, pieces starting there from short to long, a path
replaced only by a strictly better score, an unknown character scored ``min_score - 10``, runs of
unknown characters fused into one ``<unk>``.

Everything around the model stays ``tokenizers``' own: the normaliser (the precompiled SentencePiece
character map) and the pre-tokeniser are taken from a ``tokenizers.Tokenizer`` loaded with the same
``tokenizer.json`` but a one-piece vocabulary, which costs nothing. Special tokens (``<s>``, ``<mask>``
...) written in the text are matched in the raw text, longest first, as ``tokenizers`` does, and the
template puts the first and last special token around the ids.

``UnigramTokenizer.from_file`` returns None for a ``tokenizer.json`` of any other shape (another model
type, byte fallback, added tokens that are not special or strip whitespace); ``FastTokenizer`` then
runs ``tokenizers`` itself. ``tests/core/test_tokenizer.py`` compares the ids with ``tokenizers`` on German
text and on hostile input (control characters, combining marks, other scripts, special tokens in the
text, ties between segmentations, truncation).
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import marisa_trie

if TYPE_CHECKING:
    from tokenizers import Tokenizer

UNK_PENALTY = 10.0  # tokenizers' K_UNK_PENALTY (and SentencePiece's)
WORD_CACHE = 20_000  # segmentations of distinct words kept (German text repeats its words) ...
CACHED_WORD_CHARS = 64  # ... of words up to this length: a long run without spaces is not kept


class TokenBatcher(Protocol):
    """What the encoder needs of a tokenizer: padded ids and attention masks, specials included."""

    def batch(self, texts: Sequence[str]) -> tuple[list[list[int]], list[list[int]]]: ...


def _pad(rows: list[list[int]], pad_id: int) -> tuple[list[list[int]], list[list[int]]]:
    width = max((len(r) for r in rows), default=0)
    ids = [r + [pad_id] * (width - len(r)) for r in rows]
    masks = [[1] * len(r) + [0] * (width - len(r)) for r in rows]
    return ids, masks


def _template(spec: dict[str, Any]) -> tuple[list[int], list[int]] | None:
    """The special ids before and after a single sequence, or None for a post-processor not understood."""
    post = spec.get("post_processor")
    if post is None:
        return [], []
    if post.get("type") != "TemplateProcessing":
        return None
    before: list[int] = []
    after: list[int] = []
    seen_sequence = False
    for item in post.get("single", []):
        if "Sequence" in item:
            if seen_sequence or item["Sequence"].get("id") != "A":
                return None
            seen_sequence = True
        elif "SpecialToken" in item:
            token = post.get("special_tokens", {}).get(item["SpecialToken"]["id"])
            if token is None or len(token.get("ids", [])) != 1:
                return None
            (after if seen_sequence else before).append(int(token["ids"][0]))
        else:
            return None
    return (before, after) if seen_sequence else None


class UnigramTokenizer:
    """Ids of a Unigram ``tokenizer.json`` exactly as ``tokenizers`` computes them, in compact tables."""

    def __init__(self, spec: dict[str, Any], *, max_length: int, pad_id: int) -> None:
        from tokenizers import Tokenizer

        model = spec["model"]
        vocab: list[list[Any]] = model["vocab"]
        self.trie = marisa_trie.Trie([str(piece) for piece, _score in vocab])
        # the trie's key id -> the vocabulary's id (a piece listed twice: its last id, as a dict keeps it)
        self.vocab_ids = array("i", [0]) * len(self.trie)
        for i, (piece, _score) in enumerate(vocab):
            self.vocab_ids[self.trie.key_id(str(piece))] = i
        self.scores = array("d", (float(score) for _piece, score in vocab))
        self.unk_id = int(model["unk_id"])
        self.unk_score = min(self.scores) - UNK_PENALTY
        added = sorted(spec.get("added_tokens") or (), key=lambda t: -len(t["content"]))
        self.added = {str(t["content"]): int(t["id"]) for t in added}
        self.added_re = re.compile("|".join(re.escape(t["content"]) for t in added)) if added else None
        template = _template(spec)
        if template is None:
            raise ValueError("post-processor not supported")
        self.before, self.after = template
        self.max_length = max_length
        self.pad_id = pad_id
        # the same normaliser and pre-tokeniser, in a tokenizers.Tokenizer with a one-piece vocabulary
        shell = {k: v for k, v in spec.items() if k not in ("model", "added_tokens", "post_processor")}
        shell["model"] = {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0]], "byte_fallback": False}
        pipeline: Tokenizer = Tokenizer.from_str(json.dumps(shell))
        self.normalizer = pipeline.normalizer
        self.pre_tokenizer = pipeline.pre_tokenizer
        self._cached = lru_cache(maxsize=WORD_CACHE)(self._segment)

    @classmethod
    def from_file(cls, path: Path, *, max_length: int, pad_id: int) -> UnigramTokenizer | None:
        """The tokenizer of ``path`` (a ``tokenizer.json``), or None when its shape is not supported."""
        try:
            spec = json.loads(Path(path).read_text(encoding="utf-8"))
            if not supported(spec):
                return None
            return cls(spec, max_length=max_length, pad_id=pad_id)
        except Exception:  # unreadable, or tokenizers refuses the rest (it raises plain Exception)
            return None

    def word_ids(self, word: str) -> tuple[int, ...]:
        return self._cached(word) if len(word) <= CACHED_WORD_CHARS else self._segment(word)

    def _segment(self, word: str) -> tuple[int, ...]:
        """Ids of one pre-tokenised word: the best-scoring segmentation into pieces (Viterbi)."""
        n = len(word)
        best = [0.0] * (n + 1)
        start = [-1] * (n + 1)
        piece = [0] * (n + 1)
        prefixes, vocab_ids, scores, unk_id = self.trie.iter_prefixes_with_ids, self.vocab_ids, self.scores, self.unk_id
        for i in range(n):
            so_far = best[i]
            single = False
            for prefix, key in prefixes(word[i:]):  # the pieces that start here, short to long
                length = len(prefix)
                if not length:
                    continue
                j = vocab_ids[key]
                score = scores[j] + so_far
                end = i + length
                if start[end] < 0 or score > best[end]:
                    best[end], start[end], piece[end] = score, i, j
                if length == 1:
                    single = True
            if not single:
                score = self.unk_score + so_far
                if start[i + 1] < 0 or score > best[i + 1]:
                    best[i + 1], start[i + 1], piece[i + 1] = score, i, unk_id
        pieces: list[str] = []
        unknown: list[str] = []  # a run of unknown characters becomes one piece (then one <unk>)
        end = n
        while end > 0:
            begin = start[end]
            if piece[end] == unk_id:
                unknown.append(word[begin:end])
            else:
                if unknown:
                    pieces.append("".join(reversed(unknown)))
                    unknown = []
                pieces.append(word[begin:end])
            end = begin
        if unknown:
            pieces.append("".join(reversed(unknown)))
        return tuple(self.piece_id(p) for p in reversed(pieces))

    def piece_id(self, piece: str) -> int:
        """The id of a piece of the vocabulary; ``unk_id`` for anything else."""
        return self.vocab_ids[self.trie.key_id(piece)] if piece in self.trie else self.unk_id

    def content_ids(self, text: str) -> list[int]:
        """Ids of ``text`` without the template's special tokens and without truncation."""
        out: list[int] = []
        for segment, special in self._segments(text):
            if special is not None:
                out.append(special)
                continue
            if not segment:
                continue
            normalised = self.normalizer.normalize_str(segment) if self.normalizer is not None else segment
            if self.pre_tokenizer is None:
                words = [normalised]
            else:
                words = [w for w, _span in self.pre_tokenizer.pre_tokenize_str(normalised)]
            for word in words:
                if word:
                    out.extend(self.word_ids(word))
        return out

    def _segments(self, text: str) -> Iterator[tuple[str, int | None]]:
        """The text between special tokens written in it (matched in the raw text), and their ids."""
        pos = 0
        if self.added_re is not None:
            for m in self.added_re.finditer(text):
                yield text[pos : m.start()], None
                yield "", self.added[m.group(0)]
                pos = m.end()
        yield text[pos:], None

    def encode(self, text: str) -> list[int]:
        """Ids the model reads: the template around the ids, truncated to ``max_length`` in total."""
        room = max(0, self.max_length - len(self.before) - len(self.after))
        return self.before + self.content_ids(text)[:room] + self.after

    def batch(self, texts: Sequence[str]) -> tuple[list[list[int]], list[list[int]]]:
        return _pad([self.encode(t) for t in texts], self.pad_id)


def supported(spec: dict[str, Any]) -> bool:
    """Whether ``UnigramTokenizer`` computes what ``tokenizers`` computes for this ``tokenizer.json``."""
    model = spec.get("model") or {}
    if model.get("type") != "Unigram" or model.get("byte_fallback") or model.get("unk_id") is None:
        return False
    for token in spec.get("added_tokens") or ():
        if not token.get("special") or token.get("normalized") or token.get("lstrip") or token.get("rstrip"):
            return False
        if token.get("single_word") or not token.get("content"):
            return False
    return _template(spec) is not None


class FastTokenizer:
    """``tokenizers`` itself, for every ``tokenizer.json`` ``UnigramTokenizer`` does not take."""

    def __init__(self, path: Path, *, max_length: int, pad_id: int) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(path))
        pad_token = self.tokenizer.id_to_token(pad_id) or "<pad>"
        self.tokenizer.enable_truncation(max_length)
        self.tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)

    def batch(self, texts: Sequence[str]) -> tuple[list[list[int]], list[list[int]]]:
        encodings = self.tokenizer.encode_batch(list(texts))
        return [e.ids for e in encodings], [e.attention_mask for e in encodings]


def load_tokenizer(path: Path, *, max_length: int, pad_id: int) -> TokenBatcher:
    """The compact Unigram tokenizer where it applies, else ``tokenizers``."""
    compact = UnigramTokenizer.from_file(path, max_length=max_length, pad_id=pad_id)
    return compact if compact is not None else FastTokenizer(path, max_length=max_length, pad_id=pad_id)
