"""Chunking: a Document becomes bounded passages that respect paragraphs, headings and pages.

Every passage is an exact slice ``doc.text[char_start:char_end]``; its id derives from the document
id and its ordinal, so re-chunking the same document yields the same ids. A passage never spans a
page boundary (its citation names one page) and starts a new heading section when one begins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from core.ids import passage_id_for
from core.models import Document, Heading, Passage

_PARA_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=[A-ZÄÖÜ0-9„\"(])")
_WORDS = re.compile(r"\S+")


@dataclass(frozen=True)
class ChunkOptions:
    target_words: int = 120
    max_words: int = 200
    min_words: int = 40


@dataclass(frozen=True)
class _Block:
    start: int
    end: int
    words: int
    heading: Heading | None  # set when the block is a heading line


def _word_count(text: str) -> int:
    return len(_WORDS.findall(text))


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _split_long(text: str, start: int, end: int, max_words: int) -> list[tuple[int, int]]:
    """Split an over-long paragraph at sentence ends (or, failing that, at words) into <= max_words pieces."""
    cuts = [start] + [start + m.end() for m in _SENTENCE_END.finditer(text[start:end])] + [end]
    pieces: list[tuple[int, int]] = []
    piece_start = start
    words = 0
    for a, b in pairwise(cuts):
        n = _word_count(text[a:b])
        if words and words + n > max_words:
            pieces.append((piece_start, a))
            piece_start, words = a, 0
        words += n
    pieces.append((piece_start, end))
    out: list[tuple[int, int]] = []
    for a, b in pieces:  # a single sentence longer than max_words: cut at word boundaries
        spans = [m.span() for m in _WORDS.finditer(text[a:b])]
        if len(spans) <= max_words:
            out.append((a, b))
            continue
        for i in range(0, len(spans), max_words):
            group = spans[i : i + max_words]
            out.append((a + group[0][0], a + group[-1][1]))
    return [_trim(text, a, b) for a, b in out if _trim(text, a, b)[0] < _trim(text, a, b)[1]]


def _blocks(doc: Document, piece_words: int) -> list[_Block]:
    text = doc.text
    boundaries = sorted({0, len(text), *(p.start for p in doc.pages), *(h.start for h in doc.headings)})
    heading_at = {h.start: h for h in doc.headings}
    blocks: list[_Block] = []
    for seg_start, seg_end in pairwise(boundaries):
        pos = seg_start
        segment = text[seg_start:seg_end]
        for m in [*_PARA_BREAK.finditer(segment), None]:
            para_end = seg_start + (m.start() if m else len(segment))
            a, b = _trim(text, pos, para_end)
            if a < b:
                heading = heading_at.get(seg_start) if pos == seg_start else None
                if heading is not None:
                    # the heading line is its own block; the rest of the paragraph follows
                    h_end = min(b, a + len(heading.text)) if text.startswith(heading.text, a) else a
                    if h_end > a:
                        blocks.append(_Block(a, h_end, _word_count(text[a:h_end]), heading))
                        a, b = _trim(text, h_end, b)
                    else:
                        blocks.append(_Block(a, a, 0, heading))
                for pa, pb in _split_long(text, a, b, piece_words) if a < b else []:
                    blocks.append(_Block(pa, pb, _word_count(text[pa:pb]), None))
            pos = seg_start + (m.end() if m else len(segment))
    return blocks


def chunk(doc: Document, options: ChunkOptions = ChunkOptions()) -> list[Passage]:
    """Cut ``doc`` into passages of about ``target_words`` (never more than ``max_words``)."""
    # over-long paragraphs are cut near the target size, so a heading still fits in front of a piece
    blocks = _blocks(doc, min(options.target_words, options.max_words - 10))
    path: list[Heading] = []
    groups: list[tuple[list[_Block], tuple[str, ...]]] = []
    current: list[_Block] = []
    current_path: tuple[str, ...] = ()
    words = 0

    def flush() -> None:
        nonlocal current, words
        if current:
            groups.append((current, current_path))
        current, words = [], 0

    page_of = doc.page_at
    for block in blocks:
        starts_new_page = bool(current) and doc.pages and page_of(block.start) != page_of(current[0].start)
        if block.heading is not None:
            flush()
            path = [h for h in path if h.level < block.heading.level] + [block.heading]
            current_path = tuple(h.text for h in path)
            if block.end > block.start:
                current, words = [block], block.words
            continue
        only_heading = all(b.heading is not None for b in current)
        if starts_new_page or (current and not only_heading and words + block.words > options.max_words):
            flush()
        current.append(block)
        words += block.words
        if words >= options.target_words:
            flush()
    flush()

    # a short trailing piece joins its predecessor when both share section and page and fit
    merged: list[tuple[list[_Block], tuple[str, ...]]] = []
    for blocks_, hpath in groups:
        n = sum(b.words for b in blocks_)
        if merged and n < options.min_words:
            prev_blocks, prev_path = merged[-1]
            same_page = not doc.pages or page_of(prev_blocks[0].start) == page_of(blocks_[0].start)
            if prev_path == hpath and same_page and sum(b.words for b in prev_blocks) + n <= options.max_words:
                merged[-1] = (prev_blocks + blocks_, prev_path)
                continue
        merged.append((blocks_, hpath))

    passages: list[Passage] = []
    for blocks_, hpath in merged:
        start, end = blocks_[0].start, blocks_[-1].end
        if end <= start:
            continue
        ordinal = len(passages)
        passages.append(
            Passage(
                passage_id=passage_id_for(doc.doc_id, ordinal),
                doc_id=doc.doc_id,
                ordinal=ordinal,
                text=doc.text[start:end],
                char_start=start,
                char_end=end,
                page=page_of(start),
                heading_path=hpath,
            )
        )
    return passages
