"""The retrieval measures, as printable values, computed by ranx (never by hand).

``MEASURES`` are the five numbers every evaluation reports. Each ``Measure`` prints as its usual
name (``nDCG@10``) and knows its ranx name (``ndcg@10``), so tables, JSON keys and the gate file
all use the same spelling. Definitions (ranx implements them; cited here so a reader can check):

- nDCG@10: Järvelin & Kekäläinen (2002), "Cumulated gain-based evaluation of IR techniques",
  graded gains (grade 0-2), log2 discount, normalised by the ideal ranking of the judged passages.
- MRR@10: Voorhees (1999), TREC-8 QA track: 1 / rank of the first relevant result within 10, else 0.
- Recall@k: share of a query's relevant items found in the top k.
- MAP: mean over queries of the average precision over all relevant items (Buckley & Voorhees 2000).

Significance: ``compare`` runs ranx's paired two-sided Student's t-test between every pair of runs
(Smucker, Allan & Carterette 2007, "A comparison of statistical significance tests for IR evaluation").
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

# qrels / run as plain mappings: query id -> item id -> grade (qrels) or score (run)
QrelsDict = Mapping[str, Mapping[str, int]]
RunDict = Mapping[str, Mapping[str, float]]


@dataclass(frozen=True)
class Measure:
    """One measure: ``str(m)`` is its display name, ``m.ranx`` the name ranx understands."""

    name: str
    ranx: str

    def __str__(self) -> str:
        return self.name


NDCG10 = Measure("nDCG@10", "ndcg@10")
MRR10 = Measure("MRR@10", "mrr@10")
RECALL5 = Measure("Recall@5", "recall@5")
RECALL20 = Measure("Recall@20", "recall@20")
MAP = Measure("MAP", "map")

MEASURES: tuple[Measure, ...] = (NDCG10, MRR10, RECALL5, RECALL20, MAP)
BY_NAME = {m.name: m for m in MEASURES}

SIGNIFICANCE_P = 0.05
STAT_TEST = "student"


@contextmanager
def _quiet_numba() -> Iterator[None]:
    """ranx's numba kernels warn while compiling; nothing else is silenced."""
    from numba.core.errors import NumbaTypeSafetyWarning

    with warnings.catch_warnings():
        # ranx 0.3.21 casts uint64 ids to int64 inside its recall kernel; harmless, reported by numba
        warnings.filterwarnings("ignore", category=NumbaTypeSafetyWarning, message=r"unsafe cast from uint64 to int64")
        yield


def _ranx_inputs(qrels: QrelsDict, run: RunDict, name: str = "run") -> tuple[Any, Any]:
    """ranx objects for the queries with at least one relevant item; a query the run missed counts
    with an empty ranking (score 0), never silently dropped."""
    from ranx import Qrels, Run

    judged = {q: {d: int(g) for d, g in items.items() if g > 0} for q, items in qrels.items()}
    judged = {q: items for q, items in judged.items() if items}
    if not judged:
        raise ValueError("no query has a relevant item: nothing to evaluate")
    run_dict = {q: dict(run.get(q, {})) for q in judged}
    # ranx cannot hold an empty ranking: a query without hits gets one placeholder that is never relevant
    for ranking in run_dict.values():
        if not ranking:
            ranking["__no_hit__"] = 0.0
    return Qrels(judged), Run(run_dict, name=name)


def evaluate(qrels: QrelsDict, run: RunDict, measures: Sequence[Measure] = MEASURES) -> dict[str, float]:
    """Mean of each measure over the queries with relevant items, keyed by display name."""
    from ranx import evaluate as ranx_evaluate

    r_qrels, r_run = _ranx_inputs(qrels, run)
    with _quiet_numba():
        scores = ranx_evaluate(r_qrels, r_run, [m.ranx for m in measures], make_comparable=True)
    if not isinstance(scores, dict):
        scores = {measures[0].ranx: scores}
    return {m.name: float(scores[m.ranx]) for m in measures}


def per_query(qrels: QrelsDict, run: RunDict, measure: Measure) -> dict[str, float]:
    """The measure for each query with relevant items."""
    from ranx import evaluate as ranx_evaluate

    r_qrels, r_run = _ranx_inputs(qrels, run)
    with _quiet_numba():
        ranx_evaluate(r_qrels, r_run, measure.ranx, return_mean=False, make_comparable=True)
    return {q: float(v) for q, v in r_run.scores[measure.ranx].items()}


@dataclass(frozen=True)
class Comparison:
    """A paired test between runs ``a`` and ``b`` on one measure."""

    a: str
    b: str
    measure: str
    p_value: float | None  # None: the runs score identically on every query, there is nothing to test
    significant: bool
    wins: int
    ties: int
    losses: int


def compare(qrels: QrelsDict, runs: Mapping[str, RunDict], measures: Sequence[Measure] = (NDCG10,)) -> list[Comparison]:
    """Paired significance tests (ranx ``compare``) between every pair of runs, each pair once."""
    from ranx import compare as ranx_compare

    names = list(runs)
    if len(names) < 2:
        return []
    r_runs = []
    r_qrels = None
    for name in names:
        r_qrels, r_run = _ranx_inputs(qrels, runs[name], name)
        r_runs.append(r_run)
    assert r_qrels is not None
    with _quiet_numba(), warnings.catch_warnings():
        # two runs with identical per-query scores: zero variance, scipy warns and returns nan (reported as None)
        warnings.filterwarnings(
            "ignore", category=RuntimeWarning, message=r"Precision loss occurred in moment calculation"
        )
        report = ranx_compare(
            r_qrels,
            r_runs,
            [m.ranx for m in measures],
            stat_test=STAT_TEST,
            max_p=SIGNIFICANCE_P,
            make_comparable=True,
        )
    data = report.to_dict()
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            for m in measures:
                raw = float(data[a]["comparisons"][b][m.ranx])
                p = None if math.isnan(raw) else raw
                wtl = data[a]["win_tie_loss"][b][m.ranx]
                significant = p is not None and p < SIGNIFICANCE_P
                out.append(Comparison(a, b, m.name, p, significant, int(wtl["W"]), int(wtl["T"]), int(wtl["L"])))
    return out
