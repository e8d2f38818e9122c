"""Test collections: queries, judgments, and how judgments become qrels against an index.

A ``Collection`` holds queries (id, text, type) and judgments at two levels:

- document level: ``doc_qrels[query_id][doc] = grade`` where ``doc`` names a document by its source
  (the corpus file path, e.g. ``corpus/sample/x.html``), its doc id or its URL;
- passage level: either ``passage_qrels`` (passage ids, for collections whose passages are fixed, such
  as XQuAD's paragraphs) or ``quotes``: a document plus a short exact quote that the relevant passage
  must contain. Quotes survive chunking changes; ``resolve_quotes`` maps them to the passage ids of
  the index at run time and raises ``QuoteNotFound`` (listing every miss) when a quote matches no
  passage of its document any more.

Queries with no relevant item (no-answer queries) have empty qrels; measures leave them out and the
evaluation reports them separately.

File formats (the domain collection, ``evaluation/collections/domain/``):

- ``queries.jsonl``: one object per line, ``{"id", "text", "type"}``;
- ``qrels-doc.tsv``: ``query_id <TAB> doc <TAB> grade`` (header line first);
- ``qrels-passage.tsv``: ``query_id <TAB> doc <TAB> grade <TAB> quote`` (header line first).

Outside collections (``--queries`` / ``--qrels``): queries as JSONL (``id`` or ``_id``, ``text``,
optional ``type``) or TSV (``id <TAB> text``); qrels in TREC format (``qid iter doc grade``,
whitespace separated) or BEIR's TSV (``query-id corpus-id score`` with its header line).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.models import Passage
from core.settings import PROJECT_ROOT

COLLECTIONS_DIR = PROJECT_ROOT / "evaluation" / "collections"
DOMAIN_DIR = COLLECTIONS_DIR / "domain"
CORPUS_DIR = PROJECT_ROOT / "corpus" / "sample"
CORPUS_SUFFIXES = (".html", ".htm", ".pdf", ".txt", ".md")

NO_ANSWER = "no_answer"


class CollectionError(ValueError):
    """A collection file is malformed, or a judgment no longer matches the index."""


class QuoteNotFound(CollectionError):
    """Passage judgments whose quote no longer occurs in any passage of their document."""

    def __init__(self, misses: Sequence[str]) -> None:
        self.misses = tuple(misses)
        lines = "\n  ".join(self.misses)
        super().__init__(
            f"{len(self.misses)} passage judgment(s) match no passage of the index any more "
            f"(the document changed, was re-chunked so the quote spans two passages, or is missing):\n  {lines}\n"
            "Fix the quote in qrels-passage.tsv (see evaluation/collections/domain/GUIDELINE.md) and re-pin the gate."
        )


@dataclass(frozen=True)
class Query:
    """A judged query; ``filters`` are search parameters as a user gives them (``place``, ``program``,
    ``doc_type``, ``date_from``, ``date_to``, ``language``, ``source``), resolved like every front end's."""

    id: str
    text: str
    type: str = "query"
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def filter_values(self, name: str) -> tuple[str, ...]:
        return next((values for key, values in self.filters if key == name), ())


@dataclass(frozen=True)
class Quote:
    """Passage-level evidence: the passage of ``doc`` that contains ``quote`` is relevant with ``grade``."""

    query_id: str
    doc: str
    grade: int
    quote: str


@dataclass(frozen=True)
class Collection:
    name: str
    queries: tuple[Query, ...]
    doc_qrels: Mapping[str, Mapping[str, int]]
    quotes: tuple[Quote, ...] = ()
    passage_qrels: Mapping[str, Mapping[str, int]] | None = None
    files: tuple[Path, ...] = ()
    description: str = ""
    types: tuple[str, ...] = field(default=())

    @property
    def sha256(self) -> str:
        return files_sha256(self.files, root=self.files[0].parent if self.files else None)

    def answerable(self) -> list[Query]:
        return [q for q in self.queries if any(g > 0 for g in self.doc_qrels.get(q.id, {}).values())]

    def no_answer(self) -> list[Query]:
        return [q for q in self.queries if not any(g > 0 for g in self.doc_qrels.get(q.id, {}).values())]

    def query_types(self) -> list[str]:
        return list(dict.fromkeys(q.type for q in self.queries))


# ---------------------------------------------------------------- hashing


FILTER_NAMES = ("place", "program", "doc_type", "date_from", "date_to", "language", "source")


def _query_filters(raw: object, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``{"place": "Kreis Unna", "program": ["JTF"]}`` -> sorted (name, values) pairs."""
    if raw is None:
        return ()
    if not isinstance(raw, dict) or not set(raw) <= set(FILTER_NAMES):
        raise CollectionError(f"{where}: `filters` must be an object with keys among {', '.join(FILTER_NAMES)}")
    out = []
    for name, value in sorted(raw.items()):
        values = (value,) if isinstance(value, str) else tuple(value)
        if not all(isinstance(v, str) for v in values):
            raise CollectionError(f"{where}: filter {name!r} takes a string or a list of strings")
        out.append((name, values))
    return tuple(out)


def files_sha256(files: Iterable[Path], root: Path | None = None) -> str:
    """One sha256 over (relative name, content sha256) of every file, in name order."""
    digest = hashlib.sha256()
    entries = []
    for f in files:
        name = f.relative_to(root).as_posix() if root is not None and f.is_relative_to(root) else f.name
        entries.append((name, hashlib.sha256(f.read_bytes()).hexdigest()))
    for name, sha in sorted(entries):
        digest.update(f"{name}\0{sha}\n".encode())
    return digest.hexdigest()


def corpus_files(corpus_dir: Path = CORPUS_DIR) -> list[Path]:
    """The files ingest would index from ``corpus_dir`` (same suffixes, hidden files skipped)."""
    return sorted(
        p
        for p in corpus_dir.rglob("*")
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in CORPUS_SUFFIXES
    )


def corpus_sha256(corpus_dir: Path = CORPUS_DIR) -> str:
    return files_sha256(corpus_files(corpus_dir), root=corpus_dir)


# ---------------------------------------------------------------- loading


def _tsv_rows(path: Path, columns: int) -> Iterable[tuple[int, list[str]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    for lineno, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#") or lineno == 1:
            continue  # blank, comment, header
        cells = line.split("\t")
        if len(cells) != columns:
            raise CollectionError(f"{path}:{lineno}: expected {columns} tab-separated columns, got {len(cells)}")
        yield lineno, [c.strip() for c in cells]


def _grade(path: Path, lineno: int, value: str) -> int:
    if value not in ("0", "1", "2"):
        raise CollectionError(f"{path}:{lineno}: grade must be 0, 1 or 2, got {value!r}")
    return int(value)


def load_domain(directory: Path = DOMAIN_DIR) -> Collection:
    """The domain test collection over ``corpus/sample`` (see ``GUIDELINE.md`` there)."""
    queries_path = directory / "queries.jsonl"
    doc_path = directory / "qrels-doc.tsv"
    passage_path = directory / "qrels-passage.tsv"
    queries = load_queries(queries_path, require_type=True)
    ids = {q.id for q in queries}
    doc_qrels: dict[str, dict[str, int]] = {q.id: {} for q in queries}
    for lineno, (qid, doc, grade) in _tsv_rows(doc_path, 3):
        if qid not in ids:
            raise CollectionError(f"{doc_path}:{lineno}: unknown query id {qid!r}")
        if doc in doc_qrels[qid]:
            raise CollectionError(f"{doc_path}:{lineno}: {qid} judges {doc} twice")
        doc_qrels[qid][doc] = _grade(doc_path, lineno, grade)
    quotes = []
    for lineno, (qid, doc, grade, quote) in _tsv_rows(passage_path, 4):
        if qid not in ids:
            raise CollectionError(f"{passage_path}:{lineno}: unknown query id {qid!r}")
        g = _grade(passage_path, lineno, grade)
        if doc_qrels[qid].get(doc, 0) < g:
            raise CollectionError(
                f"{passage_path}:{lineno}: {qid} grades a passage of {doc} {g}, but the document "
                f"{doc_qrels[qid].get(doc, 'not at all')} in {doc_path.name}: a document is at least as relevant as "
                "its best passage"
            )
        if len(quote) < 12:
            raise CollectionError(f"{passage_path}:{lineno}: quote {quote!r} too short to identify a passage")
        quotes.append(Quote(qid, doc, g, quote))
    for qid, docs in doc_qrels.items():
        for doc, g in docs.items():
            if g > 0 and not any(q.query_id == qid and q.doc == doc for q in quotes):
                raise CollectionError(f"{qid}: {doc} is relevant (grade {g}) but has no passage judgment with a quote")
    return Collection(
        name="domain",
        queries=tuple(queries),
        doc_qrels=doc_qrels,
        quotes=tuple(quotes),
        files=(doc_path, passage_path, queries_path),
        description=f"{len(queries)} German queries over corpus/sample, graded 0-2 at document and passage level",
    )


def load_queries(path: Path, *, require_type: bool = False) -> list[Query]:
    """Queries from JSONL (``id``/``_id``, ``text``, optional ``type``) or TSV (``id <TAB> text``)."""
    queries: list[Query] = []
    if path.suffix.lower() not in (".jsonl", ".json", ".tsv", ".txt"):
        raise CollectionError(f"{path}: queries must be .jsonl (id, text[, type]) or .tsv (id<TAB>text)")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".jsonl", ".json"):
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CollectionError(f"{path}:{lineno}: not JSON: {exc}") from exc
            qid = obj.get("id", obj.get("_id"))
            qtext = obj.get("text")
            if not qid or not isinstance(qtext, str) or not qtext.strip():
                raise CollectionError(f"{path}:{lineno}: a query needs an id (`id` or `_id`) and a non-empty `text`")
            qtype = obj.get("type")
            if require_type and not qtype:
                raise CollectionError(f"{path}:{lineno}: query {qid} has no `type`")
            filters = _query_filters(obj.get("filters"), f"{path}:{lineno}")
            queries.append(Query(str(qid), qtext.strip(), str(qtype or "query"), filters))
    elif path.suffix.lower() in (".tsv", ".txt"):
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            cells = line.split("\t")
            if len(cells) != 2:
                raise CollectionError(f"{path}:{lineno}: expected `id<TAB>text`")
            queries.append(Query(cells[0].strip(), cells[1].strip()))
    seen: set[str] = set()
    for q in queries:
        if q.id in seen:
            raise CollectionError(f"{path}: query id {q.id!r} occurs twice")
        seen.add(q.id)
    if not queries:
        raise CollectionError(f"{path}: no queries")
    return queries


def load_trec_qrels(path: Path) -> dict[str, dict[str, int]]:
    """TREC qrels (``qid iter doc grade``) or BEIR TSV (``query-id corpus-id score``, header line)."""
    qrels: dict[str, dict[str, int]] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        cells = line.split()
        if not cells:
            continue
        if len(cells) == 4:
            qid, _, doc, grade = cells
        elif len(cells) == 3:
            qid, doc, grade = cells
        else:
            raise CollectionError(f"{path}:{lineno}: expected `qid iter doc grade` (TREC) or `qid doc score` (BEIR)")
        try:
            value = int(float(grade))
        except ValueError:
            if lineno == 1:
                continue  # BEIR header
            raise CollectionError(f"{path}:{lineno}: grade {grade!r} is not a number") from None
        qrels.setdefault(qid, {})[doc] = value
    if not qrels:
        raise CollectionError(f"{path}: no judgments")
    return qrels


def external(queries_path: Path, qrels_path: Path) -> Collection:
    """A collection from outside files, judged against whatever index it runs on."""
    queries = load_queries(queries_path)
    qrels = load_trec_qrels(qrels_path)
    ids = {q.id for q in queries}
    unknown = sorted(set(qrels) - ids)
    if unknown:
        raise CollectionError(f"{qrels_path}: judgments for {len(unknown)} unknown query id(s), e.g. {unknown[:3]}")
    doc_qrels = {q.id: dict(qrels.get(q.id, {})) for q in queries}
    return Collection(
        name=queries_path.stem,
        queries=tuple(queries),
        doc_qrels=doc_qrels,
        files=(queries_path, qrels_path),
        description=f"{len(queries)} queries from {queries_path.name}, judgments from {qrels_path.name}",
    )


# ---------------------------------------------------------------- quotes -> passage ids

_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """NFC, soft hyphens removed, runs of whitespace as one space: how quotes and passages compare."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text).replace("\u00ad", "")).strip()


def resolve_quotes(
    quotes: Sequence[Quote], passages_by_doc: Mapping[str, Sequence[Passage]]
) -> dict[str, dict[str, int]]:
    """Passage qrels (query -> passage id -> grade) from quote judgments; every passage of the
    document that contains the quote gets its grade (the highest when several quotes hit it).

    Raises ``QuoteNotFound`` listing every judgment whose quote occurs in no passage of its document.
    """
    normalised = {doc: [(p.passage_id, normalise(p.text)) for p in ps] for doc, ps in passages_by_doc.items()}
    qrels: dict[str, dict[str, int]] = {}
    misses = []
    for q in quotes:
        needle = normalise(q.quote)
        if q.doc not in normalised:
            misses.append(f"{q.query_id}: document {q.doc} is not in the index")
            continue
        hits = [pid for pid, text in normalised[q.doc] if needle in text]
        if not hits:
            misses.append(f"{q.query_id}: {q.doc}: no passage contains {q.quote!r}")
            continue
        for pid in hits:
            current = qrels.setdefault(q.query_id, {})
            current[pid] = max(current.get(pid, 0), q.grade)
    if misses:
        raise QuoteNotFound(misses)
    return qrels
