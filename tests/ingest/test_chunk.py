"""Chunking keeps provenance: exact offsets, pages, heading paths, stable ids, bounded size."""

from core.models import Document, Heading, PageSpan
from ingest.chunk import ChunkOptions, chunk


def make_doc(text: str, **kw: object) -> Document:
    return Document(doc_id="d1", source="x.html", title="T", text=text, content_hash="h", **kw)  # type: ignore[arg-type]


def sentences(n: int, word: str = "Förderung") -> str:
    return " ".join(f"Die {word} Nummer {i} läuft." for i in range(n))


def test_offsets_slice_back_and_ids_are_stable() -> None:
    text = "\n\n".join(sentences(12) for _ in range(6))
    doc = make_doc(text)
    first, second = chunk(doc), chunk(doc)
    assert first == second
    for p in first:
        assert text[p.char_start : p.char_end] == p.text
    assert [p.passage_id for p in first] == [f"d1-{i:04d}" for i in range(len(first))]


def test_passages_are_bounded() -> None:
    text = "\n\n".join(sentences(40) for _ in range(5))  # paragraphs of 200 words
    opts = ChunkOptions(target_words=120, max_words=200, min_words=40)
    for p in chunk(make_doc(text), opts):
        assert len(p.text.split()) <= opts.max_words


def test_one_giant_sentence_is_cut_at_words() -> None:
    text = " ".join(["Wort"] * 1000)
    passages = chunk(make_doc(text))
    assert all(len(p.text.split()) <= 200 for p in passages)
    assert sum(len(p.text.split()) for p in passages) == 1000


def test_headings_start_sections_and_build_paths() -> None:
    parts = ["Bericht", "Kapitel 1", sentences(10), "Abschnitt 1.1", sentences(10), "Kapitel 2", sentences(10)]
    text = "\n\n".join(parts)
    headings = (
        Heading(text.index("Kapitel 1"), 1, "Kapitel 1"),
        Heading(text.index("Abschnitt 1.1"), 2, "Abschnitt 1.1"),
        Heading(text.index("Kapitel 2"), 1, "Kapitel 2"),
    )
    paths = [p.heading_path for p in chunk(make_doc(text, headings=headings))]
    assert ("Kapitel 1",) in paths
    assert ("Kapitel 1", "Abschnitt 1.1") in paths
    assert ("Kapitel 2",) in paths
    assert ("Kapitel 1", "Abschnitt 1.1", "Kapitel 2") not in paths


def test_passages_never_span_pages() -> None:
    page1, page2 = sentences(8, "Seite-eins"), sentences(8, "Seite-zwei")
    text = page1 + "\n\n" + page2
    cut = len(page1) + 2
    doc = make_doc(text, pages=(PageSpan(1, 0, cut), PageSpan(2, cut, len(text))))
    passages = chunk(doc)
    assert [p.page for p in passages] == [1, 2]
    assert "zwei" not in passages[0].text and "eins" not in passages[1].text


def test_short_tail_merges_into_previous() -> None:
    text = sentences(30) + "\n\n" + "Kurzer Schluss."
    passages = chunk(make_doc(text), ChunkOptions(target_words=100, max_words=200, min_words=40))
    assert passages[-1].text.endswith("Kurzer Schluss.")
    assert len(passages[-1].text.split()) > 2


def test_empty_text_gives_no_passages() -> None:
    assert chunk(make_doc("   \n\n  ")) == []
