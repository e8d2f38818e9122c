"""The evaluation end to end on the real pipeline and store, with the hashing embedder (fast).

Numbers with the hashing embedder mean nothing; these tests check the plumbing: the dedicated index,
quote resolution, every variant and level, the report folder and the command line. The quality itself
is pinned by tests/evaluation/test_gate.py on the real model.
"""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.model.embedding import HashingEmbedder
from core.settings import Settings
from evaluation.quality import report as report_io
from evaluation.quality import suite
from evaluation.quality.collection import load_domain, load_queries
from evaluation.quality.eval_index import open_domain_index
from evaluation.quality.measures import MEASURES
from evaluation.quality.runner import QueryCache, default_variant_name, standard_variants
from foerdersuche.cli import app

VARIANTS = ["lexical", "dense", "hybrid-weighted-0.5", "hybrid-weighted-0.7", "hybrid-rrf", "hybrid-dbsf"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("evaldata")


@pytest.fixture(scope="module")
def domain_report(data_dir: Path) -> dict:
    settings = Settings(data_dir=data_dir)
    return suite.run_domain(settings, HashingEmbedder(), data_dir / "eval" / "domain")


def test_domain_report_has_every_variant_level_measure_and_type(domain_report: dict) -> None:
    assert list(domain_report["levels"]) == ["passage", "document"]
    collection = load_domain()
    for level in domain_report["levels"].values():
        assert list(level["variants"]) == VARIANTS
        assert level["judged_queries"] == len(collection.answerable())
        for v in level["variants"].values():
            assert set(v["all"]) == {m.name for m in MEASURES}
            assert all(0.0 <= x <= 1.0 for x in v["all"].values())
            assert set(v["by_type"]) == {q.type for q in collection.answerable()}
        pairs = len(VARIANTS) * (len(VARIANTS) - 1) // 2
        assert len(level["comparisons"]) == pairs * 2  # nDCG@10 and Recall@20
    na = domain_report["no_answer"]
    assert set(na["queries"]) == {q.id for q in collection.no_answer()}
    assert set(na["variants"]) == set(VARIANTS)
    meta = domain_report["meta"]
    assert meta["collection_sha256"] == collection.sha256
    assert meta["index"]["passages"] > 150 and not meta["index"]["reused"]
    assert meta["settings"]["admin_key"] in (None, "***")


def test_the_index_is_reused_while_nothing_changed(data_dir: Path, domain_report: dict) -> None:
    settings = Settings(data_dir=data_dir)
    with open_domain_index(settings, HashingEmbedder(), data_dir / "eval" / "domain") as index:
        assert index.reused
        assert index.passage_count == domain_report["meta"]["index"]["passages"]


def test_report_folder(domain_report: dict, tmp_path: Path) -> None:
    paths = report_io.write(domain_report, tmp_path / "r")
    assert {p.name for p in (tmp_path / "r").iterdir()} == {"report.json", "report.md", "modes.png", "per_query.png"}
    written = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert written["default_variant"] == default_variant_name(Settings()) in VARIANTS
    md = paths["markdown"].read_text(encoding="utf-8")
    assert f"`{written['default_variant']}`" in md
    assert "| variant | nDCG@10 | MRR@10 | Recall@5 | Recall@20 | MAP |" in md
    assert "## No-answer queries" in md
    assert paths["modes_chart"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_query_cache_answers_like_the_embedder() -> None:
    inner = HashingEmbedder()
    cache = QueryCache(inner, ["Wasserstoff Hamm", "Ladepunkte Unna"])
    assert (cache.embed_queries(["Ladepunkte Unna"]) == inner.embed_queries(["Ladepunkte Unna"])).all()
    assert cache.embed_queries(["neu"]).shape == (1, inner.dim)


def test_external_queries_and_qrels_against_an_index(data_dir: Path, tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        '{"id": "1", "text": "Wasserstoffzentrum Hamm-Uentrop Elektrolyseur"}\n{"id": "2", "text": "Schwammstadt Kamen"}\n',
        encoding="utf-8",
    )
    qrels = tmp_path / "r.trec"
    qrels.write_text(
        "1 0 corpus/sample/pm-wasserstoffzentrum-hamm-uentrop.html 2\n2 0 corpus/sample/projekt-schwammstadt-kamen-seseke.html 2\n",
        encoding="utf-8",
    )
    settings = Settings(data_dir=data_dir)
    embedder = HashingEmbedder()
    with open_domain_index(settings, embedder, data_dir / "eval" / "domain") as index:
        from evaluation.quality.collection import external

        report = suite.run_external(
            external(queries, qrels), "document", settings, embedder, index.store, index.gazetteer
        )
    assert list(report["levels"]) == ["document"]
    assert report["levels"]["document"]["variants"]["lexical"]["all"]["Recall@20"] == 1.0
    assert report["meta"]["judged_not_in_index"] == []


def test_cli_eval_prints_one_json_object_and_writes_the_report(data_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "--data-dir",
            str(data_dir),
            "eval",
            "--embedder",
            "hashing",
            "--json",
            "--workdir",
            str(data_dir / "eval" / "domain"),
            "--report-dir",
            str(tmp_path / "rep"),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["levels"]["passage"]["variants"]) == set(VARIANTS)
    assert (tmp_path / "rep" / "report.md").is_file()


def test_cli_eval_needs_queries_and_qrels_together(data_dir: Path, tmp_path: Path) -> None:
    q = tmp_path / "q.tsv"
    q.write_text("1\tWasserstoff\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["--data-dir", str(data_dir), "eval", "--embedder", "hashing", "--queries", str(q)]
    )
    assert result.exit_code == 2
    assert "--queries and --qrels go together" in result.output


def test_standard_variants_follow_the_settings() -> None:
    names = [v.name for v in standard_variants(Settings())]
    assert names == VARIANTS
    assert all(not v.options.fold_duplicates for v in standard_variants(Settings()))
    assert load_queries  # the loader the CLI uses for --queries
