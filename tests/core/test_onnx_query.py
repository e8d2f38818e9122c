"""The query encoder on ONNX Runtime: written and verified by the installer, as close to the checkpoint as
measured, and a serving process that searches with it never imports torch (a real ``serve`` process);
repeated queries are not embedded again."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from serverproc import running_server

from core.errors import ModelError
from core.model.embedding import E5Embedder, HashingEmbedder, QueryCache, RuntimeEmbedder
from core.model.install import REPORT_FILE, ModelInstallReport, OnnxFiles, install_default_model, onnx_graph
from core.model.onnx_encoder import WORDS_INPUT, OnnxEncoder, WordTable
from core.settings import PROJECT_ROOT, Settings

# Not the installer's sentences (core.model.install.VERIFY_SENTENCES): the agreement must hold beyond them.
OTHER_TEXTS = (
    "query: Welche Fördermittel erhält die Emschergenossenschaft für den Umbau?",
    "query: Wasserstoff Duisburg",
    "query: Ü",
    "passage: Gefördert werden bis zu 80 % der zuwendungsfähigen Ausgaben, höchstens 500.000 Euro, gemäß § 4 Abs. 2.",
    "passage: " + "Der EcoTecHub Bergkamen verbindet Hochschule, Kommune und Unternehmen. " * 60,  # truncated
)


@pytest.fixture(scope="module")
def installed() -> ModelInstallReport:
    return install_default_model(Settings().model_path)


@pytest.mark.slow
def test_install_writes_and_reports_the_verified_int8_graph(installed: ModelInstallReport) -> None:
    assert installed.onnx is not None
    report = json.loads((installed.path / REPORT_FILE).read_text(encoding="utf-8"))["onnx"]
    assert report["file"] == "onnx/encoder_qint8.onnx" and (installed.path / report["file"]).is_file()
    assert report["words"] == "onnx/words_qint8.npy"
    assert report["variant"] == "int8-keep-ffn-output"
    assert report["cosine_min"] >= report["min_cosine"] == 0.995
    files = onnx_graph(installed.path)
    assert files == OnnxFiles(
        installed.path / "onnx" / "encoder_qint8.onnx", installed.path / "onnx" / "words_qint8.npy"
    )
    assert not (installed.path / "onnx" / "model_qint8.onnx").exists()
    table = np.load(files.words, mmap_mode="r")
    assert table.shape == (250037, 384) and table.dtype == np.uint8


@pytest.mark.slow
def test_the_int8_graph_agrees_with_the_checkpoint_on_other_text(installed: ModelInstallReport) -> None:
    from core.model.encoder import TransformerEncoder
    from core.model.onnx_encoder import OnnxEncoder

    files = onnx_graph(installed.path)
    assert files is not None
    reference = TransformerEncoder.load(installed.path)
    assert reference is not None
    encoder = OnnxEncoder.load(installed.path, files.graph, words=files.words)
    assert encoder.words is not None
    expected = reference.encode(OTHER_TEXTS, 8)
    alone = encoder.encode(OTHER_TEXTS, 1)
    batched = encoder.encode(OTHER_TEXTS, 8)
    assert alone.dtype == np.float32 and alone.shape == expected.shape
    np.testing.assert_allclose(np.linalg.norm(alone, axis=1), 1.0, atol=1e-5)
    cosines = (alone * expected).sum(axis=1)
    assert cosines.min() >= 0.995, cosines
    # in a batch the int8 activation scale is the batch's (padding is masked): the same threshold holds
    assert ((batched * expected).sum(axis=1) >= 0.995).all()
    assert encoder.count_tokens(["query: Wasserstoff"]) == reference.count_tokens(["query: Wasserstoff"])


@pytest.mark.slow
def test_the_default_runtime_embeds_queries_by_onnx_and_loads_passages_on_demand(
    installed: ModelInstallReport,
) -> None:
    code = """
import sys
from core.model.embedding import load_runtime_embedder
from core.settings import Settings
e = load_runtime_embedder(Settings(model_dir=sys.argv[1]))
q = e.embed_queries(["Kreislaufwirtschaft im Kreis Unna"])
print(e.query_backend, e.passages_loaded, "torch" in sys.modules)
p = e.embed_passages(["Im Kreis Unna entsteht ein Zentrum für Kreislaufwirtschaft."])
print(e.passages_loaded, "torch" in sys.modules, round(float((q * p).sum()), 2) > 0.8, e.backend)
"""
    proc = subprocess.run(
        [sys.executable, "-c", code, str(installed.path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.split("\n")[:2]
    assert first == "onnx-int8 False False"
    loaded, torch_now, similar, label = second.split()
    assert (loaded, torch_now, similar) == ("True", "True", "True")
    assert label.endswith("+onnx-int8") and label.startswith("torch-")


@pytest.mark.slow
def test_a_real_server_searches_without_importing_torch(
    tmp_path: Path, installed: ModelInstallReport, real_embedder: E5Embedder
) -> None:
    """``foerdersuche serve`` over an index built with the torch passage embedder: hybrid search through
    HTTP works, and no torch library is mapped into the server process (/proc/PID/maps), not even after
    an admin ingest job embedded passages (in a child process: ``core.model.worker``)."""
    from ingest.discovery import discover
    from runtime import open_runtime

    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, model_dir=installed.path)
    items, _ = discover([PROJECT_ROOT / "corpus" / "sample"])
    with open_runtime(settings, embedder=real_embedder) as rt:
        rt.indexer.ingest(items[:4])
    inbox = data_dir / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "zeche.html").write_text(
        "<html><head><title>Zeche Haus Aden</title></head><body><h1>Zeche Haus Aden</h1><p>Auf dem Gelände der "
        "Zeche Haus Aden in Bergkamen entsteht ein Gewerbegebiet mit einem Wasserstoff-Reallabor, gefördert aus "
        "dem 5-StandorteProgramm mit 4,2 Millionen Euro.</p></body></html>",
        encoding="utf-8",
    )
    env = {"FOERDERSUCHE_MODEL_DIR": str(installed.path), "FOERDERSUCHE_ADMIN_KEY": "k" * 32}
    with running_server(data_dir, env=env) as server:
        hits = server.client.get("/search", params={"q": "Strukturwandel Förderung", "mode": "dense"}).json()
        assert hits["total_passages"] > 0
        again = server.client.get("/search", params={"q": "Strukturwandel Förderung", "mode": "dense", "page": 2})
        assert again.status_code == 200
        maps = Path(f"/proc/{server.pid}/maps").read_text(encoding="utf-8")
        assert "libtorch" not in maps
        assert "onnxruntime" in maps

        headers = {"X-API-Key": "k" * 32}
        job = server.client.post("/ingest", json={"paths": [str(inbox)]}, headers=headers).json()
        deadline = time.monotonic() + 300
        while (state := server.client.get(f"/jobs/{job['job_id']}", headers=headers).json())["status"] in (
            "queued",
            "running",
        ) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert state["status"] == "succeeded", state
        assert state["report"]["passages_written"] >= 1
        found = server.client.get("/search", params={"q": "Wasserstoff-Reallabor Zeche Haus Aden"}).json()
        assert found["results"][0]["title"] == "Zeche Haus Aden"
        assert "libtorch" not in Path(f"/proc/{server.pid}/maps").read_text(encoding="utf-8")


# ---------------------------------------------------------------- the word table outside the graph


def _whole_graph(files: OnnxFiles, out: Path) -> None:
    """The graph with its word table put back inside, as installs before the split wrote it."""
    import onnx
    from onnx import numpy_helper

    assert files.words is not None
    model = onnx.load(str(files.graph))
    node = next(n for n in model.graph.node if WORDS_INPUT in n.input)
    node.input[2] = "inner.embeddings.word_embeddings.weight_quantized"
    model.graph.initializer.append(numpy_helper.from_array(np.load(files.words), node.input[2]))
    model.graph.input.remove(next(i for i in model.graph.input if i.name == WORDS_INPUT))
    onnx.save(model, str(out))


@pytest.mark.slow
def test_an_install_with_the_table_in_its_graph_is_split_with_the_same_vectors(
    tmp_path: Path, installed: ModelInstallReport
) -> None:
    """An install from before the split (its report names ``model_qint8.onnx`` and no word table) is
    split by ``model install``: same vectors bit for bit, the whole graph removed, the report updated;
    until then it serves with the whole graph."""
    files = onnx_graph(installed.path)
    assert files is not None
    old = tmp_path / "model"
    (old / "onnx").mkdir(parents=True)
    for item in installed.path.iterdir():
        if item.is_file():
            (old / item.name).symlink_to(item)
        elif item.name != "onnx":
            (old / item.name).symlink_to(item, target_is_directory=True)
    (old / REPORT_FILE).unlink()
    _whole_graph(files, old / "onnx" / "model_qint8.onnx")
    report = json.loads((installed.path / REPORT_FILE).read_text(encoding="utf-8"))
    report["onnx"]["file"] = "onnx/model_qint8.onnx"
    del report["onnx"]["words"]
    report["path"] = str(old)
    (old / REPORT_FILE).write_text(json.dumps(report), encoding="utf-8")

    before = onnx_graph(old)
    assert before == OnnxFiles(old / "onnx" / "model_qint8.onnx", None)
    whole = OnnxEncoder.load(old, before.graph)
    assert whole.words is None
    with pytest.raises(ModelError, match="does not take a word table"):
        OnnxEncoder.load(old, before.graph, words=files.words)
    with pytest.raises(ModelError, match="takes a word table"):
        OnnxEncoder.load(old, files.graph)
    expected = whole.encode(OTHER_TEXTS, 1)

    upgraded = install_default_model(old)
    assert upgraded.onnx is not None and upgraded.onnx.words == "onnx/words_qint8.npy"
    assert upgraded.onnx.cosine_min == installed.onnx.cosine_min  # type: ignore[union-attr]
    after = onnx_graph(old)
    assert after == OnnxFiles(old / "onnx" / "encoder_qint8.onnx", old / "onnx" / "words_qint8.npy")
    assert sorted(p.name for p in (old / "onnx").iterdir()) == ["encoder_qint8.onnx", "words_qint8.npy"]
    split = OnnxEncoder.load(old, after.graph, words=after.words)
    np.testing.assert_array_equal(split.encode(OTHER_TEXTS, 1), expected)
    np.testing.assert_array_equal(split.encode(OTHER_TEXTS, 3), whole.encode(OTHER_TEXTS, 3))


def test_the_word_table_reads_the_rows_of_a_batch(tmp_path: Path) -> None:
    table = np.arange(50 * 4, dtype=np.uint8).reshape(50, 4)
    path = tmp_path / "words.npy"
    np.save(path, table)
    words = WordTable(path)
    ids = np.array([[0, 7, 7, 49], [3, 0, 1, 1]], dtype=np.int64)
    renumbered, rows = words.gather(ids)
    assert rows.shape == (5, 4)  # five distinct tokens
    np.testing.assert_array_equal(rows[renumbered], table[ids])
    with pytest.raises(ModelError, match="outside the word table"):
        words.gather(np.array([[1, 50]]))
    path.write_bytes(path.read_bytes()[:-10])  # cut after loading
    with pytest.raises(ModelError, match="truncated"):
        words.gather(np.array([[49]]))
    with pytest.raises(ModelError, match="Cannot read the word table"):
        WordTable(path)
    path.write_bytes(b"not a table")
    with pytest.raises(ModelError, match="Cannot read the word table"):
        WordTable(path)


# ---------------------------------------------------------------- the query cache (fast)


class _Counting(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__(dim=32)
        self.backend = "hashing"
        self.calls: list[list[str]] = []

    def embed_queries(self, texts: object) -> np.ndarray:
        self.calls.append(list(texts))  # type: ignore[call-overload]
        return super().embed_queries(list(texts))  # type: ignore[call-overload]


def test_repeated_queries_are_not_embedded_again() -> None:
    inner = _Counting()
    embedder = RuntimeEmbedder(inner, passages=inner, cache_size=2)  # type: ignore[arg-type]
    first = embedder.embed_queries(["Wasserstoff", "Zeche"])
    again = embedder.embed_queries(["Zeche", "Wasserstoff"])
    np.testing.assert_array_equal(first[::-1], again)
    assert inner.calls == [["Wasserstoff", "Zeche"]]
    assert (embedder.cache.hits, embedder.cache.misses) == (2, 2)
    embedder.embed_queries(["Kokerei"])  # the least recently used ("Zeche", then "Wasserstoff") go first
    embedder.embed_queries(["Wasserstoff"])
    embedder.embed_queries(["Zeche"])
    assert inner.calls[1:] == [["Kokerei"], ["Zeche"]]
    again[0, 0] = 42.0  # a caller's array is its own; the cache keeps its rows
    assert embedder.embed_queries(["Zeche"])[0, 0] != 42.0


def test_a_zero_cache_embeds_every_time() -> None:
    cache = QueryCache(0)
    cache.put(("m", "b", "x"), np.ones(3, dtype=np.float32))
    assert cache.get(("m", "b", "x")) is None and len(cache) == 0
