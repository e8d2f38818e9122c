"""Extraction quality of the register, judged like retrieval: ``foerdersuche eval --collection facts``.

The gold collection (``evaluation/collections/facts/``, guideline in its GUIDELINE.md) lists every
funding fact of ``corpus/sample`` (one row per occurrence, located by an exact quote) and every project
with its documents and dated events. This module parses the corpus with the project's own parser, runs
the extraction and the cross-document linking (no model, no index: deterministic and fast) and
compares:

* **facts**: a predicted fact matches a gold fact of the same document with the same euros whose
  quote contains the predicted amount (one-to-one, in text order). precision = matched / predicted,
  recall = matched / gold.
* **attributes** of matched facts: kind, places (the same set of AGS keys), programs (the same set),
  and the project link (the predicted project stands for the gold project; see below).
* **linking**: a predicted project stands for the gold project most of its matched facts belong to.
  Pairwise over matched facts in different documents: precision = pairs in one predicted project that
  share their gold project / pairs in one predicted project; recall = pairs sharing a gold project that
  are in one predicted project / pairs sharing a gold project. ``projects_linked`` is the share of gold
  projects with facts in several documents whose facts all landed in one predicted project (strict: one
  stray fact fails it), ``projects_linked_majority`` the share where one predicted project holds at
  least 80 % of them, from two or more documents; ``false_merges`` counts predicted projects holding
  facts of two gold projects.
* **timeline**: of the gold events of linked projects, the share whose date appears in the predicted
  project's timeline (``event_recall``), and the share of predicted events whose date is a gold date
  of that project (``event_precision``); ``timeline_order`` the share of predicted timelines in date order.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from core.facts import intel_to_json
from core.gazetteer import Gazetteer
from core.ids import doc_id_for
from core.registry import IntelRow
from core.settings import PROJECT_ROOT
from ingest.facts import extract_intel
from ingest.parse import parse_bytes
from search.register import Register, RegisterFact, build_register

COLLECTION_DIR = PROJECT_ROOT / "evaluation" / "collections" / "facts"
CORPUS_DIR = PROJECT_ROOT / "corpus" / "sample"


@dataclass(frozen=True)
class GoldFact:
    doc: str
    eur: float
    kind: str
    project: str | None
    places: frozenset[str]
    programs: frozenset[str]
    quote: str


@dataclass(frozen=True)
class GoldProject:
    key: str
    docs: frozenset[str]
    events: tuple[tuple[str, str], ...]  # (date, doc)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_gold(directory: Path = COLLECTION_DIR) -> tuple[list[GoldFact], dict[str, GoldProject]]:
    facts = [
        GoldFact(
            d["doc"],
            float(d["eur"]),
            d["kind"],
            d["project"],
            frozenset(d["places"]),
            frozenset(d["programs"]),
            d["quote"],
        )
        for d in _read_jsonl(directory / "facts.jsonl")
    ]
    projects = {
        d["project"]: GoldProject(
            d["project"], frozenset(d["docs"]), tuple((e["date"], e["doc"]) for e in d.get("events", []))
        )
        for d in _read_jsonl(directory / "projects.jsonl")
    }
    return facts, projects


def collection_sha256(directory: Path = COLLECTION_DIR) -> str:
    h = hashlib.sha256()
    for name in ("facts.jsonl", "projects.jsonl"):
        h.update((directory / name).read_bytes())
    return h.hexdigest()


def register_of(corpus: Path, gazetteer: Gazetteer) -> tuple[Register, dict[str, str], dict[str, str]]:
    """Parse and extract every file of ``corpus``: the register, doc id -> source, source -> text."""
    rows: list[IntelRow] = []
    sources: dict[str, str] = {}
    texts: dict[str, str] = {}
    for path in sorted(p for p in corpus.iterdir() if p.is_file() and not p.name.startswith(".")):
        source = path.resolve().relative_to(PROJECT_ROOT).as_posix()
        doc_id = doc_id_for(source)
        doc = parse_bytes(path.read_bytes(), source, doc_id=doc_id, suffix_hint=path.suffix)
        intel = extract_intel(doc, gazetteer)
        rows.append(IntelRow(doc_id, source, doc.url, doc.title, doc.date, None, doc.media_type, intel_to_json(intel)))
        sources[doc_id] = source
        texts[source] = doc.text
    return build_register(rows, gazetteer), sources, texts


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def evaluate(register: Register, sources: dict[str, str], texts: dict[str, str], gold_facts: list[GoldFact],
             gold_projects: dict[str, GoldProject]) -> dict[str, Any]:  # fmt: skip
    # --- match facts, per document, one-to-one
    predicted: dict[str, list[RegisterFact]] = defaultdict(list)
    for f in register.facts:
        predicted[sources[f.fact.doc_id]].append(f)
    matches: list[tuple[GoldFact, RegisterFact]] = []
    unlocated = 0
    for doc, golds in _by_doc(gold_facts).items():
        text = texts.get(doc, "")
        free = sorted(predicted.get(doc, []), key=lambda f: f.fact.amount_start)
        for g in golds:
            start = text.find(g.quote)
            if start < 0:
                unlocated += 1
                continue
            end = start + len(g.quote)
            for f in free:
                inside = f.fact.amount_start < end and f.fact.amount_end > start
                if inside and abs(f.fact.eur - g.eur) < 0.5:
                    matches.append((g, f))
                    free.remove(f)
                    break
    n_pred = len(register.facts)
    n_gold = len(gold_facts)
    matched = len(matches)

    # --- attributes
    kind_ok = sum(g.kind == f.fact.kind.value for g, f in matches)
    places_ok = sum(g.places == frozenset(p.ags for p in f.fact.places) for g, f in matches)
    programs_ok = sum(g.programs == frozenset(f.fact.programs) for g, f in matches)
    both_ok = sum(
        g.places == frozenset(p.ags for p in f.fact.places) and g.programs == frozenset(f.fact.programs)
        for g, f in matches
    )

    # --- which gold project a predicted project stands for
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for g, f in matches:
        if f.project_id and g.project:
            votes[f.project_id][g.project] += 1
    stands_for = {pid: c.most_common(1)[0][0] for pid, c in votes.items()}
    link_ok = sum(
        (g.project is None and f.project_id is None)
        or (g.project is not None and f.project_id is not None and stands_for.get(f.project_id) == g.project)
        for g, f in matches
    )

    # --- pairwise linking over matched facts of different documents
    same_pred = same_pred_ok = same_gold = same_gold_ok = 0
    linked = [(g, f) for g, f in matches if g.project and f.project_id]
    for (g1, f1), (g2, f2) in combinations(linked, 2):
        if f1.fact.doc_id == f2.fact.doc_id:
            continue
        together = f1.project_id == f2.project_id
        equal = g1.project == g2.project
        same_pred += together
        same_pred_ok += together and equal
        same_gold += equal
        same_gold_ok += equal and together
    gold_with_facts: dict[str, set[str]] = defaultdict(set)
    pred_of_gold: dict[str, set[str | None]] = defaultdict(set)
    for g, f in matches:
        if g.project:
            gold_with_facts[g.project].add(g.doc)
            pred_of_gold[g.project].add(f.project_id)
    multi = [k for k, docs in gold_with_facts.items() if len(docs) >= 2]
    linked_into_one = sum(len(pred_of_gold[k]) == 1 and None not in pred_of_gold[k] for k in multi)
    # majority: one predicted project holds at least 80 % of the project's matched facts, from 2+ documents
    linked_mostly = 0
    for k in multi:
        facts_of_k = [(g, f) for g, f in matches if g.project == k]
        by_pred = Counter(f.project_id for _, f in facts_of_k if f.project_id)
        if not by_pred:
            continue
        best, n = by_pred.most_common(1)[0]
        docs = {f.fact.doc_id for _, f in facts_of_k if f.project_id == best}
        linked_mostly += n >= 0.8 * len(facts_of_k) and len(docs) >= 2
    false_merges = sum(len(c) >= 2 for c in votes.values())

    # --- timelines of the predicted projects that stand for a gold project
    ev_found = ev_total = ev_pred = ev_pred_ok = ordered = timelines = 0
    for pid, key in stands_for.items():
        project = register.by_id[pid]
        gold_dates = {date for date, _ in gold_projects[key].events} if key in gold_projects else set()
        dates = [t.date for t in project.timeline]
        timelines += 1
        ordered += dates == sorted(dates)
        ev_total += len(gold_dates)
        ev_found += len(gold_dates & set(dates))
        ev_pred += len(set(dates))
        ev_pred_ok += len(set(dates) & gold_dates)

    return {
        "facts": {
            "gold": n_gold,
            "predicted": n_pred,
            "matched": matched,
            "gold_quotes_not_found": unlocated,
            "precision": round(_ratio(matched, n_pred), 4),
            "recall": round(_ratio(matched, n_gold), 4),
        },
        "attributes": {
            "kind": round(_ratio(kind_ok, matched), 4),
            "places": round(_ratio(places_ok, matched), 4),
            "programs": round(_ratio(programs_ok, matched), 4),
            "places_and_programs": round(_ratio(both_ok, matched), 4),
            "project_link": round(_ratio(link_ok, matched), 4),
        },
        "linking": {
            "pair_precision": round(_ratio(same_pred_ok, same_pred), 4),
            "pair_recall": round(_ratio(same_gold_ok, same_gold), 4),
            "multi_document_projects": len(multi),
            "projects_linked": round(_ratio(linked_into_one, len(multi)), 4),
            "projects_linked_majority": round(_ratio(linked_mostly, len(multi)), 4),
            "false_merges": false_merges,
            "predicted_projects": len(register.projects),
        },
        "timeline": {
            "event_recall": round(_ratio(ev_found, ev_total), 4),
            "event_precision": round(_ratio(ev_pred_ok, ev_pred), 4),
            "timeline_order": round(_ratio(ordered, timelines), 4),
        },
        "errors": _errors(matches, predicted, gold_facts, texts),
    }


def _by_doc(facts: Iterable[GoldFact]) -> dict[str, list[GoldFact]]:
    out: dict[str, list[GoldFact]] = defaultdict(list)
    for f in facts:
        out[f.doc].append(f)
    return out


def _errors(
    matches: list[tuple[GoldFact, RegisterFact]],
    predicted: dict[str, list[RegisterFact]],
    gold: list[GoldFact],
    texts: dict[str, str],
) -> dict[str, list[str]]:
    """A readable list of misses, spurious facts and wrong attributes (for the report, not the gate)."""
    matched_pred = {id(f) for _, f in matches}
    matched_gold = {id(g) for g, _ in matches}
    missed = [f"{g.doc}: {g.eur:,.0f} | {g.quote[:90]}" for g in gold if id(g) not in matched_gold]
    spurious = [
        f"{doc}: {f.fact.eur:,.0f} {f.fact.kind.value} | {' '.join(f.citation.quote.split())[:90]}"
        for doc, fs in predicted.items()
        for f in fs
        if id(f) not in matched_pred
    ]
    wrong = []
    for g, f in matches:
        problems = []
        if g.kind != f.fact.kind.value:
            problems.append(f"kind {f.fact.kind.value}≠{g.kind}")
        if g.places != frozenset(p.ags for p in f.fact.places):
            problems.append(f"places {sorted(p.ags for p in f.fact.places)}≠{sorted(g.places)}")
        if g.programs != frozenset(f.fact.programs):
            problems.append(f"programs {sorted(f.fact.programs)}≠{sorted(g.programs)}")
        if problems:
            wrong.append(f"{g.doc}: {g.eur:,.0f}: " + "; ".join(problems))
    return {"missed": missed, "spurious": spurious, "wrong_attributes": wrong}


def run(gazetteer: Gazetteer, corpus: Path = CORPUS_DIR, directory: Path = COLLECTION_DIR) -> dict[str, Any]:
    """The whole evaluation: parse, extract, link, compare; every number in one dict."""
    register, sources, texts = register_of(corpus, gazetteer)
    gold_facts, gold_projects = load_gold(directory)
    report = evaluate(register, sources, texts, gold_facts, gold_projects)
    report["meta"] = {"collection": "facts", "collection_sha256": collection_sha256(directory), "documents": len(texts)}
    return report


GATED = (
    ("facts", "precision"),
    ("facts", "recall"),
    ("attributes", "kind"),
    ("attributes", "places"),
    ("attributes", "programs"),
    ("attributes", "project_link"),
    ("linking", "pair_precision"),
    ("linking", "pair_recall"),
    ("linking", "projects_linked"),
    ("linking", "projects_linked_majority"),
    ("timeline", "event_recall"),
)


def gated_numbers(report: dict[str, Any]) -> dict[str, float]:
    return {f"{a}/{b}": float(report[a][b]) for a, b in GATED}


# --- the gate: pinned floors, like the retrieval gate (evaluation/gate.toml)

GATE_PATH = PROJECT_ROOT / "evaluation" / "gate_register.toml"
MARGIN = 0.01
PIN_HINT = "Re-pin after a judged change with: foerdersuche eval --collection facts --pin"


def corpus_sha256(corpus: Path = CORPUS_DIR) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in corpus.iterdir() if p.is_file() and not p.name.startswith(".")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def pin(report: dict[str, Any], path: Path = GATE_PATH) -> Path:
    """Write the gated numbers (rounded down to 4 places) with the hashes they were measured on."""
    import math

    lines = [
        "# The register's quality gate, checked by tests/evaluation/test_register_gate.py. Written by",
        "# `foerdersuche eval --collection facts --pin`; do not edit floors by hand. A run fails when a score",
        "# drops more than `margin` below its floor, or when the corpus or the collection differ from these hashes.",
        "",
        "[pinned]",
        f"margin = {MARGIN}",
        f'corpus_sha256 = "{corpus_sha256()}"',
        f'collection_sha256 = "{report["meta"]["collection_sha256"]}"',
        "",
        "[floors]",
    ]
    for key, value in sorted(gated_numbers(report).items()):
        lines.append(f'"{key}" = {math.floor(value * 10_000) / 10_000:.4f}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load_gate(path: Path = GATE_PATH) -> dict[str, Any]:
    import tomllib

    return tomllib.loads(path.read_text(encoding="utf-8"))


def check(report: dict[str, Any], gate: dict[str, Any]) -> list[str]:
    """Every gated number that dropped more than the margin below its floor (or has none)."""
    margin = float(gate["pinned"]["margin"])
    floors: dict[str, float] = gate["floors"]
    scores = gated_numbers(report)
    problems = []
    for key, value in sorted(scores.items()):
        if key not in floors:
            problems.append(f"{key}: no floor pinned ({PIN_HINT})")
        elif value < floors[key] - margin:
            problems.append(f"{key}: {value:.4f} < floor {floors[key]:.4f} - margin {margin}")
    problems += [f"{key}: not measured" for key in floors if key not in scores]
    return problems


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: the numbers, then every miss, spurious fact and wrong attribute."""
    lines = ["# Register evaluation (evaluation/collections/facts)", ""]
    for section in ("facts", "attributes", "linking", "timeline"):
        lines += [f"## {section}", "", "| measure | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in report[section].items()]
        lines.append("")
    for kind, items in report.get("errors", {}).items():
        lines += [f"## {kind} ({len(items)})", ""]
        lines += [f"- {' '.join(item.split())}" for item in items]
        lines.append("")
    return "\n".join(lines)
