"""Writes an evaluation report folder: ``report.json`` (every number and the run's metadata),
``report.md`` (the same, readable) and two charts (matplotlib, Agg backend):

- ``modes.png``: every variant side by side on every measure (primary level);
- ``per_query.png``: per-query nDCG@10 of the default hybrid minus the best single mode (lexical or
  dense, whichever has the higher mean), sorted: where fusion helps and where it hurts.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evaluation.quality.measures import MEASURES, NDCG10, RECALL20

SINGLE_MODES = ("lexical", "dense")


def default_dir(reports_dir: Path, collection: str, now: dt.datetime | None = None) -> Path:
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return reports_dir / f"eval-{collection}-{stamp}"


def primary_level(report: Mapping[str, Any]) -> str:
    levels = report["levels"]
    return "passage" if "passage" in levels else next(iter(levels))


def best_single(level: Mapping[str, Any]) -> str | None:
    singles = [m for m in SINGLE_MODES if m in level["variants"]]
    if not singles:
        return None
    return max(singles, key=lambda m: level["variants"][m]["all"][NDCG10.name])


def hybrid_vs_single(report: Mapping[str, Any], level_name: str) -> tuple[str, str, dict[str, float]] | None:
    """(hybrid variant, best single mode, per-query nDCG@10 difference) or None."""
    level = report["levels"][level_name]
    hybrid = report["default_variant"]
    single = best_single(level)
    if single is None or hybrid not in level["variants"] or hybrid == single:
        return None
    h = level["variants"][hybrid]["per_query"][NDCG10.name]
    s = level["variants"][single]["per_query"][NDCG10.name]
    return hybrid, single, {q: h[q] - s.get(q, 0.0) for q in h}


def write(report: Mapping[str, Any], directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": directory / "report.json",
        "markdown": directory / "report.md",
        "modes_chart": directory / "modes.png",
        "per_query_chart": directory / "per_query.png",
    }
    paths["json"].write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    level = primary_level(report)
    _modes_chart(report, level, paths["modes_chart"])
    if not _per_query_chart(report, level, paths["per_query_chart"]):
        del paths["per_query_chart"]
    paths["markdown"].write_text(markdown(report, {k: p.name for k, p in paths.items()}), encoding="utf-8")
    return paths


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _modes_chart(report: Mapping[str, Any], level_name: str, path: Path) -> None:
    plt = _pyplot()
    variants = report["levels"][level_name]["variants"]
    names = list(variants)
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(11, 5))
    for i, name in enumerate(names):
        values = [variants[name]["all"][m.name] for m in MEASURES]
        xs = [j + (i - (len(names) - 1) / 2) * width for j in range(len(MEASURES))]
        label = name + (" (default)" if name == report["default_variant"] else "")
        bars = ax.bar(xs, values, width, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=6, padding=1)
    ax.set_xticks(range(len(MEASURES)), [m.name for m in MEASURES])
    lowest = min(variants[n]["all"][m.name] for n in names for m in MEASURES)
    bottom = max(0.0, math.floor(lowest * 10) / 10 - 0.1)
    ax.set_ylim(bottom, 1.02)
    ax.set_ylabel("score" + (f" (axis starts at {bottom:g})" if bottom > 0 else ""))
    meta = report.get("meta", {})
    ax.set_title(
        f"{meta.get('collection', '')}: retrieval variants, {level_name} level "
        f"({report['levels'][level_name]['judged_queries']} judged queries)"
    )
    ax.legend(fontsize=8, ncols=len(names), loc="upper center", bbox_to_anchor=(0.5, -0.08), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _per_query_chart(report: Mapping[str, Any], level_name: str, path: Path) -> bool:
    found = hybrid_vs_single(report, level_name)
    if found is None:
        return False
    hybrid, single, diff = found
    plt = _pyplot()
    items = sorted(diff.items(), key=lambda kv: -kv[1])
    values = [v for _, v in items]
    fig, ax = plt.subplots(figsize=(11, 4.5))
    colors = ["#2a9d55" if v > 0 else "#c0392b" if v < 0 else "#999999" for v in values]
    ax.bar(range(len(values)), values, color=colors, width=1.0 if len(values) > 200 else 0.8)
    if len(values) <= 80:
        ax.set_xticks(range(len(values)), [q for q, _ in items], rotation=90, fontsize=6)
    else:
        ax.set_xticks([])
        ax.set_xlabel(f"{len(values)} queries, sorted")
    better = sum(v > 0 for v in values)
    worse = sum(v < 0 for v in values)
    ax.set_title(
        f"nDCG@10 per query: {hybrid} minus {single} (better {better}, worse {worse}, "
        f"equal {len(values) - better - worse})"
    )
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_ylabel("Δ nDCG@10")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def markdown(report: Mapping[str, Any], files: Mapping[str, str] | None = None) -> str:
    meta = report.get("meta", {})
    q = report["queries"]
    lines = [
        f"# Evaluation: {meta.get('collection', '?')}",
        "",
        f"{meta.get('collection_description', '')}.",
        "",
        f"- created: {meta.get('created')}; git {(meta.get('git') or {}).get('commit')}"
        + (" (work tree differs)" if (meta.get("git") or {}).get("dirty") else ""),
        f"- model: `{meta.get('model')}` ({meta.get('embed_backend')}); default variant: `{report['default_variant']}`",
        f"- collection sha256: `{meta.get('collection_sha256')}`",
    ]
    if meta.get("corpus_sha256"):
        lines.append(f"- corpus: `{meta.get('corpus')}`, sha256 `{meta['corpus_sha256']}`")
    index = meta.get("index") or {}
    if index:
        lines.append(
            f"- index: {index.get('dir')} ({index.get('documents', '?')} documents, "
            f"{index.get('passages', index.get('points', '?'))} passages"
            + (", reused" if index.get("reused") else f", built in {index.get('build_seconds', '?')} s")
            + ")"
        )
    lines += [
        f"- queries: {q['total']} ({q['answerable']} with relevant items, {q['no_answer']} without); "
        "types: " + ", ".join(f"{t} {n}" for t, n in q["types"].items()),
        "",
        "Measures by ranx; queries without any relevant item are excluded from every mean (see "
        "'No-answer queries'). Significance: paired two-sided t-test (ranx `compare`), p < 0.05.",
    ]
    for level_name, level in report["levels"].items():
        lines += ["", f"## {level_name.capitalize()} level ({level['judged_queries']} judged queries)", ""]
        lines.append("| variant | " + " | ".join(m.name for m in MEASURES) + " |")
        lines.append("|---|" + "---:|" * len(MEASURES))
        for name, v in level["variants"].items():
            label = f"**{name}** (default)" if name == report["default_variant"] else name
            lines.append(f"| {label} | " + " | ".join(f"{v['all'][m.name]:.4f}" for m in MEASURES) + " |")
        types = list(dict.fromkeys(t for v in level["variants"].values() for t in v["by_type"]))
        if len(types) > 1:
            lines += ["", f"nDCG@10 per query type ({level_name} level):", ""]
            first = next(iter(level["variants"].values()))
            lines.append(
                "| variant | "
                + " | ".join(f"{t} ({first['by_type'].get(t, {}).get('queries', 0)})" for t in types)
                + " |"
            )
            lines.append("|---|" + "---:|" * len(types))
            for name, v in level["variants"].items():
                lines.append(
                    f"| {name} | "
                    + " | ".join(f"{v['by_type'][t][NDCG10.name]:.3f}" if t in v["by_type"] else "–" for t in types)
                    + " |"
                )
        sig = [c for c in level["comparisons"] if c["significant"]]
        lines += ["", f"Paired tests ({level_name} level), significant pairs (p < 0.05):", ""]
        if sig:
            lines.append("| a | b | measure | p | a wins / ties / losses |")
            lines.append("|---|---|---|---:|---|")
            for c in sig:
                lines.append(
                    f"| {c['a']} | {c['b']} | {c['measure']} | {c['p_value']:.4g} | {c['wins']} / {c['ties']} / "
                    f"{c['losses']} |"
                )
        else:
            lines.append("none.")
        found = hybrid_vs_single(report, level_name)
        if found:
            hybrid, single, diff = found
            better = sum(v > 0 for v in diff.values())
            worse = sum(v < 0 for v in diff.values())
            lines += [
                "",
                f"Per query, `{hybrid}` vs the best single mode `{single}` (nDCG@10): better on {better}, "
                f"worse on {worse}, equal on {len(diff) - better - worse} queries.",
            ]
            worst = sorted(diff.items(), key=lambda kv: kv[1])[:5]
            if worst and worst[0][1] < 0:
                lines.append("Largest losses: " + ", ".join(f"{qid} ({d:+.3f})" for qid, d in worst if d < 0) + ".")
    na = report.get("no_answer") or {}
    if na.get("queries"):
        lines += [
            "",
            "## No-answer queries",
            "",
            f"{len(na['queries'])} queries have no relevant document in the corpus ({', '.join(na['queries'])}). "
            "They are excluded from nDCG, MRR, Recall and MAP. Instead: the top-1 score of each variant for them "
            "against the answerable queries; AUC = how well the top score separates answerable from no-answer "
            "queries (0.5 = not at all, 1 = perfectly).",
            "",
            "| variant | median top score, no-answer | median top score, answerable | AUC |",
            "|---|---:|---:|---:|",
        ]
        for name, v in na["variants"].items():
            lines.append(
                f"| {name} | {_fmt(v['no_answer_top_median'])} | {_fmt(v['answerable_top_median'])} | "
                f"{_fmt(v['auc'])} |"
            )
    sweep = report.get("sweep")
    if sweep:
        lines += ["", "## Sweep: dense weight (weighted fusion) and analyser gram weight", ""]
        for level_name, variants in sweep.items():
            lines += [
                f"{level_name.capitalize()} level:",
                "",
                "| variant | nDCG@10 | Recall@20 | MRR@10 |",
                "|---|---:|---:|---:|",
            ]
            for name, scores in variants.items():
                lines.append(
                    f"| {name} | {scores[NDCG10.name]:.4f} | {scores[RECALL20.name]:.4f} | {scores['MRR@10']:.4f} |"
                )
            lines.append("")
    if files:
        lines += ["", "## Files", ""] + [f"- {kind}: `{name}`" for kind, name in files.items()]
        if "modes_chart" in files:
            lines += ["", f"![variants]({files['modes_chart']})"]
        if "per_query_chart" in files:
            lines += ["", f"![per query]({files['per_query_chart']})"]
    return "\n".join(lines) + "\n"
