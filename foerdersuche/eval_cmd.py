"""The ``eval`` and ``bench`` commands (registered on the main app by ``register``).

``foerdersuche eval`` measures retrieval quality (evaluation/README.md): the domain collection or
XQuAD-de on an index of their own (``<data_dir>/eval/<collection>/``), or any TREC/BEIR-style set
against the current index; prints a table and writes a report folder. ``--pin`` re-measures the
gated numbers and rewrites evaluation/gate.toml. ``foerdersuche bench`` measures ingest, embedding,
store and query performance at the given index sizes and writes a report folder.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

import runtime
from core.errors import FoerdersucheError

if TYPE_CHECKING:
    from core.model.embedding import Embedder
    from core.settings import Settings

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)

EMBEDDERS = ("model", "hashing")


def _settings() -> Settings:
    from foerdersuche.context import settings

    return settings()


def _embedder(settings: Settings, kind: str) -> Embedder:
    return runtime.build_embedder(settings, "hashing" if kind == "hashing" else "model")


def _short(variant: str) -> str:
    """A narrow column label: ``hybrid-weighted-0.7`` -> ``w0.7``, ``hybrid-rrf`` -> ``rrf``."""
    return variant.replace("hybrid-weighted-", "w").replace("hybrid-", "")


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]Fehler:[/red] {escape(message)}")
    return typer.Exit(code)


def _progress(quiet: bool) -> Any:
    if quiet or not err.is_terminal:
        return None
    return lambda step: err.print(f"[dim]… {escape(step)}[/dim]")


# ---------------------------------------------------------------- eval


def _print_eval(report: dict[str, Any], paths: dict[str, Path] | None) -> None:
    from evaluation.quality.measures import MEASURES, NDCG10
    from evaluation.quality.report import hybrid_vs_single

    meta = report["meta"]
    out.print(f"[bold]{escape(meta['collection'])}[/bold]: {escape(meta['collection_description'])}")
    for level_name, level in report["levels"].items():
        table = Table(title=f"{level_name} level, {level['judged_queries']} judged queries", title_justify="left")
        table.add_column("variant")
        for m in MEASURES:
            table.add_column(m.name, justify="right")
        best = {m.name: max(v["all"][m.name] for v in level["variants"].values()) for m in MEASURES}
        for name, v in level["variants"].items():
            cells = []
            for m in MEASURES:
                value = v["all"][m.name]
                cells.append(f"[bold]{value:.4f}[/bold]" if value == best[m.name] else f"{value:.4f}")
            table.add_row(name + (" *" if name == report["default_variant"] else ""), *cells)
        out.print(table)
        out.print("* = the default (settings); bold = best per column", style="dim")
        types = list(dict.fromkeys(t for v in level["variants"].values() for t in v["by_type"]))
        if len(types) > 1:
            by_type = Table(title=f"nDCG@10 per query type ({level_name} level)", title_justify="left")
            by_type.add_column("type (queries)")
            names = list(level["variants"])
            for name in names:
                by_type.add_column(_short(name) + ("*" if name == report["default_variant"] else ""), justify="right")
            first = level["variants"][names[0]]
            for t in types:
                by_type.add_row(
                    f"{t} ({first['by_type'].get(t, {}).get('queries', 0)})",
                    *(
                        f"{level['variants'][n]['by_type'][t][NDCG10.name]:.3f}"
                        if t in level["variants"][n]["by_type"]
                        else "–"
                        for n in names
                    ),
                )
            out.print(by_type)
        sig = [c for c in level["comparisons"] if c["significant"] and c["measure"] == NDCG10.name]
        if sig:
            out.print(
                "significant nDCG@10 differences (paired t-test, p < 0.05): "
                + "; ".join(f"{c['a']} vs {c['b']} p={c['p_value']:.3g}" for c in sig)
            )
        found = hybrid_vs_single(report, level_name)
        if found:
            hybrid, single, diff = found
            better = sum(d > 0 for d in diff.values())
            worse = sum(d < 0 for d in diff.values())
            out.print(
                f"{hybrid} vs {single} per query: better {better}, worse {worse}, equal {len(diff) - better - worse}"
            )
    na = report.get("no_answer") or {}
    if na.get("queries"):
        out.print(
            f"{len(na['queries'])} no-answer queries are excluded from the means; top-score AUC "
            "(answerable vs no-answer): "
            + ", ".join(f"{n} {v['auc']:.2f}" for n, v in na["variants"].items() if v["auc"] is not None)
        )
    if paths:
        out.print(f"Bericht: {paths['markdown'].parent}")


def eval_command(
    collection: Annotated[
        str,
        typer.Option(
            "--collection",
            help=(
                "domain | xquad-de (retrieval) | facts (the register's extraction) | answers (direct answers); "
                "ignored with --queries/--qrels."
            ),
        ),
    ] = "domain",
    queries: Annotated[
        Path | None,
        typer.Option(
            "--queries",
            help="Queries (.jsonl: id, text[, type]; .tsv: id<TAB>text), evaluated against the current index.",
        ),
    ] = None,
    qrels: Annotated[
        Path | None, typer.Option("--qrels", help="Judgments (TREC `qid iter doc grade` or BEIR `qid doc score`).")
    ] = None,
    level: Annotated[
        str,
        typer.Option(
            "--level",
            help="With --qrels: what the qrels name, `document` (doc id, source or URL) or `passage` (passage id).",
        ),
    ] = "document",
    as_json: Annotated[bool, typer.Option("--json", help="Print every number as one JSON object.")] = False,
    report_dir: Annotated[
        Path | None,
        typer.Option("--report-dir", help="Report folder; default <data_dir>/reports/eval-<collection>-<timestamp>/."),
    ] = None,
    workdir: Annotated[
        Path | None,
        typer.Option("--workdir", help="Where the evaluation index lives; default <data_dir>/eval/<collection>/."),
    ] = None,
    sweep: Annotated[
        bool, typer.Option("--sweep", help="Also sweep dense_weight (0.3-0.9) and the analyser's gram_weight (0-1).")
    ] = False,
    pin: Annotated[
        bool, typer.Option("--pin", help="Measure the gated numbers and rewrite evaluation/gate.toml.")
    ] = False,
    embedder_kind: Annotated[
        str,
        typer.Option(
            "--embedder", help="model (the configured model) | hashing (model-free stand-in, for quick checks)."
        ),
    ] = "model",
) -> None:
    """Measure retrieval quality in every mode (lexical, dense, hybrid fusions): table + report folder."""
    from evaluation.quality import report as report_io
    from evaluation.quality import suite

    s = _settings()
    if collection == "facts" and queries is None:
        _eval_facts(s, as_json, pin, report_dir)
        return
    progress = _progress(as_json)
    if collection == "answers" and queries is None:
        _eval_answers(s, embedder_kind, workdir, report_dir, as_json, progress)
        return
    if (queries is None) != (qrels is None):
        raise _fail("--queries and --qrels go together", 2)
    if level not in ("document", "passage"):
        raise _fail("--level must be document or passage", 2)
    if queries is None and collection not in ("domain", "xquad-de"):
        raise _fail(f"unknown collection {collection!r}: domain, xquad-de or facts", 2)
    if embedder_kind not in EMBEDDERS:
        raise _fail(f"--embedder must be one of {', '.join(EMBEDDERS)}", 2)
    try:
        embedder = _embedder(s, embedder_kind)
        if pin:
            _pin(s, embedder, workdir or s.data_dir / "eval" / "gate", progress)
            return
        request = suite.EvalRequest(sweep=sweep)
        if queries is not None and qrels is not None:
            from evaluation.quality.collection import external
            from runtime import open_runtime

            coll = external(queries, qrels)
            with open_runtime(s, embedder=embedder) as rt:
                report = suite.run_external(coll, level, s, rt.embedder, rt.store, rt.gazetteer, request, progress)  # type: ignore[arg-type]
            name = coll.name
        elif collection == "domain":
            report = suite.run_domain(
                s, embedder, workdir or s.data_dir / "eval" / "domain", request, progress=progress
            )
            name = "domain"
        else:
            report = suite.run_xquad(
                s, embedder, workdir or s.data_dir / "eval" / "xquad-de", request, progress=progress
            )
            name = "xquad-de"
    except (FoerdersucheError, ValueError, RuntimeError, OSError) as exc:
        raise _fail(str(exc)) from exc
    target = report_dir or report_io.default_dir(s.reports_dir, name)
    paths = report_io.write(report, target)
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return
    _print_eval(report, paths)


def _eval_facts(s: Settings, as_json: bool, pin: bool, report_dir: Path | None) -> None:
    """The register against evaluation/collections/facts: no model, no index; a few seconds."""
    from datetime import UTC, datetime

    from evaluation.quality import register as register_eval

    report = register_eval.run(runtime.build_gazetteer())
    if pin:
        path = register_eval.pin(report)
        out.print(f"Register-Gate geschrieben: {path}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = report_dir or s.reports_dir / f"eval-facts-{stamp}"
    target.mkdir(parents=True, exist_ok=True)
    (target / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    (target / "report.md").write_text(register_eval.markdown(report), encoding="utf-8")
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return
    table = Table(title="Register: evaluation/collections/facts", title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in register_eval.gated_numbers(report).items():
        table.add_row(key, f"{value:.4f}")
    f = report["facts"]
    table.add_row("facts gold / predicted / matched", f"{f['gold']} / {f['predicted']} / {f['matched']}")
    table.add_row("linking/false_merges", str(report["linking"]["false_merges"]))
    out.print(table)
    out.print(f"Bericht: {target}")


def _eval_answers(
    s: Settings, embedder_kind: str, workdir: Path | None, report_dir: Path | None, as_json: bool, progress: Any
) -> None:
    """The direct-answer collection: right / wrong / not answered per question type, checked against the gate."""
    from evaluation.quality import answers
    from evaluation.quality import report as report_io

    try:
        embedder = _embedder(s, embedder_kind)
        report = answers.run_answers(s, embedder, workdir or s.data_dir / "eval" / "domain", progress=progress)
    except (FoerdersucheError, ValueError, RuntimeError, OSError) as exc:
        raise _fail(str(exc)) from exc
    report["gate_failures"] = answers.gate_failures(report, answers.load_gate()) if answers.GATE_FILE.exists() else []
    target = report_dir or report_io.default_dir(s.reports_dir, "answers")
    target.mkdir(parents=True, exist_ok=True)
    (target / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return
    table = Table(title="answers: direct answers over corpus/sample", title_justify="left")
    for col in ("type", "answerable", "right", "wrong", "not answered", "no answer: wrong", "no answer: quiet"):
        table.add_column(col, justify="left" if col == "type" else "right")
    rows = [(t, b) for t, b in report["per_type"].items()] + [
        ("all", {"answerable": report["answerable"], "no_answer": report["no_answer"]})
    ]
    for t, b in rows:
        a, n = b["answerable"], b["no_answer"]
        table.add_row(
            t,
            str(a["questions"]),
            str(a["right"]),
            str(a["wrong"]),
            str(a["not_answered"]),
            f"{n['wrong']}/{n['questions']}",
            f"{n['not_answered']}/{n['questions']}",
        )
    out.print(table)
    out.print(
        f"right of answerable {report['right_of_answerable']:.3f} (target >= 0.75), "
        f"wrong of all {report['wrong_of_all']:.3f} (target <= 0.05)"
    )
    for failure in report["gate_failures"]:
        out.print(f"[red]gate:[/red] {escape(failure)}")
    out.print(f"Bericht: {target}")
    if report["gate_failures"]:
        raise typer.Exit(1)


def _pin(s: Settings, embedder: Embedder, workdir: Path, progress: Any) -> None:
    from evaluation.quality import gate

    scores, _, _ = gate.measure(s, embedder, workdir, progress)
    fp = gate.fingerprint(s, embedder.name)
    backend = getattr(embedder, "backend", s.embed_backend)
    path = gate.pin(scores, fp, backend)
    table = Table(title=f"gate floors for {backend} written to {path}", title_justify="left")
    table.add_column("key")
    table.add_column("floor", justify="right")
    for key, value in sorted(scores.items()):
        table.add_row(key, f"{value:.4f}")
    out.print(table)


# ---------------------------------------------------------------- bench


def _parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(x.strip().replace("_", "")) for x in text.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter("--passages takes comma-separated integers, e.g. 10000,100000") from None
    if not sizes or any(n < 50 for n in sizes):
        raise typer.BadParameter("--passages: each size must be at least 50")
    return sizes


def api_server_command(data_dir: Path, port: int, embedder_kind: str) -> list[str] | None:
    """The command that serves the HTTP API over ``data_dir`` for the benchmark, or None when the API
    package is not installed (the benchmark then reports the Searcher numbers only)."""
    try:
        import api.app  # noqa: F401  (only checks that it exists; the server runs in its own process)
    except ImportError:
        return None
    return [
        sys.executable,
        "-c",
        "from foerdersuche.eval_cmd import serve_for_bench; serve_for_bench()",
        str(data_dir),
        str(port),
        embedder_kind,
    ]


def serve_for_bench() -> None:
    """Entry of the benchmark's server process: ``create_app`` over a data dir under uvicorn."""
    import uvicorn

    from api.app import create_app
    from core.model.embedding import HashingEmbedder
    from core.settings import Settings

    data_dir, port, embedder_kind = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    model_dir = os.environ.get("FOERDERSUCHE_MODEL_DIR")
    settings = Settings(data_dir=data_dir, model_dir=Path(model_dir) if model_dir else None)
    embedder = HashingEmbedder() if embedder_kind == "hashing" else None
    app = create_app(settings, embedder=embedder, freeze_gc=True)  # as `serve` runs it
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def bench_command(
    passages: Annotated[
        str, typer.Option("--passages", help="Index sizes, comma-separated (e.g. 10000,100000).")
    ] = "10000,100000",
    report_dir: Annotated[
        Path | None, typer.Option("--report-dir", help="Report folder; default <data_dir>/reports/bench-<timestamp>/.")
    ] = None,
    embedder_kind: Annotated[
        str, typer.Option("--embedder", help="model (the configured model) | hashing (model-free, for smoke tests).")
    ] = "model",
    queries: Annotated[int, typer.Option("--queries", help="Timed queries per mode and filter setting.", min=5)] = 200,
    real_vectors: Annotated[
        int,
        typer.Option("--real-vectors", help="Passages embedded by the model; the rest are perturbed copies.", min=10),
    ] = 2000,
    http: Annotated[
        bool, typer.Option("--http/--no-http", help="Also measure through the HTTP API when it is installed.")
    ] = True,
    keep_index: Annotated[
        bool,
        typer.Option(
            "--keep-index", help="Keep each size's index in <data_dir>/bench/index-<size>/ (to profile it afterwards)."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
) -> None:
    """Performance benchmark: ingest, embedding, store writes, query latency and memory (a report, not a test)."""
    from evaluation.bench import benchmark as bench

    s = _settings()
    sizes = _parse_sizes(passages)
    if embedder_kind not in EMBEDDERS:
        raise _fail(f"--embedder must be one of {', '.join(EMBEDDERS)}", 2)
    target = report_dir or bench.default_dir(s.reports_dir)
    options = bench.BenchOptions(
        sizes=tuple(sizes),
        embedder=embedder_kind,
        queries=queries,
        real_vectors=real_vectors,
        server_command=api_server_command if http else None,
        keep_index=keep_index,
    )
    try:
        result = bench.run(s, options, target, progress=_progress(as_json))
    except (FoerdersucheError, RuntimeError, OSError) as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        print(json.dumps(result.report, ensure_ascii=False))
        return
    out.print(result.summary)
    out.print(f"Bericht: {target}")


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
    app.command("bench")(bench_command)
