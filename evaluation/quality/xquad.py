"""XQuAD-de as a passage-retrieval collection (see /work/shared/benchmarks/xquad-de/README.md).

The 240 paragraphs (contexts) are the documents, one passage each; the 1,190 questions are the
queries; each question's relevant item is its own paragraph (grade 1). Query types are the question's
interrogative word (``wer``, ``was``, ``wann``, ``wie viel`` ...), so results can be read per kind of
question. The file is used unchanged; ids are ``xquad-<article>-<paragraph>``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from core.ids import passage_id_for
from evaluation.quality.collection import Collection, Query

XQUAD_FILE = Path("/work/shared/benchmarks/xquad-de/xquad.de.json")
NAME = "xquad-de"

# Interrogatives in the order they are tried (longest first, so "wie viele" wins over "wie").
_TYPES = (
    ("wie viele", "wie viel"),
    ("wie viel", "wie viel"),
    ("wie hoch", "wie viel"),
    ("wievielfache", "wie viel"),
    ("welchem prozentsatz", "wie viel"),
    ("welcher prozentsatz", "wie viel"),
    ("wie lange", "wann"),
    ("in welchem jahr", "wann"),
    ("in welchen jahren", "wann"),
    ("seit wann", "wann"),
    ("wann", "wann"),
    ("wer", "wer"),
    ("wem", "wer"),
    ("wen", "wer"),
    ("wessen", "wer"),
    ("woher", "wo"),
    ("wohin", "wo"),
    ("wo", "wo"),
    ("warum", "warum"),
    ("weshalb", "warum"),
    ("wieso", "warum"),
    ("wie", "wie"),
    ("welche", "welche"),
    ("welcher", "welche"),
    ("welches", "welche"),
    ("welchen", "welche"),
    ("welchem", "welche"),
    ("was", "was"),
    ("nennen sie", "was"),
    ("wofür", "was"),
    ("worüber", "was"),
    ("wozu", "was"),
    ("woran", "was"),
    ("worauf", "was"),
    ("womit", "was"),
    ("wodurch", "was"),
    ("wovon", "was"),
    ("worum", "was"),
    ("worin", "was"),
    ("woraus", "was"),
    ("wogegen", "was"),
    ("die wievielt", "wie viel"),
)


@dataclass(frozen=True)
class Paragraph:
    doc_id: str
    title: str
    text: str

    @property
    def passage_id(self) -> str:
        return passage_id_for(self.doc_id, 0)


def question_type(question: str) -> str:
    """The interrogative a question starts with (or else contains), folded into a few kinds; a
    question without one is a yes/no question (``ja/nein``); ``andere`` is left for the rest."""
    lowered = question.lower()
    for prefix, kind in _TYPES:
        if re.match(rf"\W*{re.escape(prefix)}\b", lowered):
            return kind
    for prefix, kind in _TYPES:  # "In welchem Land ...", "Nach wem ..."
        if re.search(rf"\b{re.escape(prefix)}\b", lowered):
            return kind
    return "ja/nein" if re.match(r"\W*\w+ ", lowered) and lowered.rstrip().endswith("?") else "andere"


def load(path: Path = XQUAD_FILE) -> tuple[Collection, list[Paragraph]]:
    """The collection and its paragraphs, in file order."""
    data = json.loads(path.read_text(encoding="utf-8"))
    paragraphs: list[Paragraph] = []
    queries: list[Query] = []
    doc_qrels: dict[str, dict[str, int]] = {}
    passage_qrels: dict[str, dict[str, int]] = {}
    for a, article in enumerate(data["data"]):
        for p, para in enumerate(article["paragraphs"]):
            doc_id = f"xquad-{a:02d}-{p:02d}"
            paragraph = Paragraph(doc_id, str(article.get("title") or doc_id), para["context"])
            paragraphs.append(paragraph)
            for qa in para["qas"]:
                qid = str(qa["id"])
                text = qa["question"].strip()
                queries.append(Query(qid, text, question_type(text)))
                doc_qrels[qid] = {doc_id: 1}
                passage_qrels[qid] = {paragraph.passage_id: 1}
    collection = Collection(
        name=NAME,
        queries=tuple(queries),
        doc_qrels=doc_qrels,
        passage_qrels=passage_qrels,
        files=(path,),
        description=f"XQuAD-de: {len(paragraphs)} Wikipedia paragraphs as passages, {len(queries)} questions, "
        "qrels = each question's own paragraph",
    )
    return collection, paragraphs


def subset(collection: Collection, every: int) -> Collection:
    """Every ``every``-th question in file order (a fixed subset, for the gate)."""
    queries = collection.queries[::every]
    ids = {q.id for q in queries}
    assert collection.passage_qrels is not None
    return Collection(
        name=f"{collection.name}-every{every}",
        queries=queries,
        doc_qrels={q: r for q, r in collection.doc_qrels.items() if q in ids},
        passage_qrels={q: r for q, r in collection.passage_qrels.items() if q in ids},
        files=collection.files,
        description=f"{collection.description}; every {every}th question ({len(queries)})",
    )
