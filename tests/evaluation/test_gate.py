"""The quality gate: pinned floors per retrieval variant, plus the hashes they were measured on.

``test_gate_scores`` measures on the real model (domain collection, every variant; the default hybrid on
every 5th XQuAD-de question) in a temporary data dir: about two to four minutes on two cores. When the
corpus, the collection or a setting changed, it fails with what changed and how to re-pin
(``foerdersuche eval --pin``; see evaluation/README.md).
"""

from pathlib import Path

import pytest

from core.model.embedding import Embedder, load_runtime_embedder
from core.settings import DEFAULT_MODEL, Settings
from evaluation.quality import gate


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, model_dir=Settings().model_path)


def test_gate_file_is_pinned_on_this_corpus_and_collection() -> None:
    pinned = gate.load()
    problems = gate.check_fingerprint(pinned, gate.fingerprint(Settings(), DEFAULT_MODEL))
    assert not problems, (
        "The gate floors were measured on other data:\n  " + "\n  ".join(problems) + "\n" + gate.PIN_HINT
    )
    assert pinned.margin == 0.01
    # both backends `auto` can resolve to have floors: bf16 (native bfloat16) and int8 (elsewhere), each
    # alone and with the default query backend (ONNX int8 queries over its passages)
    assert set(pinned.floors) >= {"torch-bf16", "torch-int8", "torch-bf16+onnx-int8", "torch-int8+onnx-int8"}
    for floors in pinned.floors.values():
        assert any(k.startswith("domain/passage/") for k in floors)
        assert any(k.startswith("xquad-de-every5/") for k in floors)


def test_a_drop_beyond_the_margin_fails_and_noise_does_not() -> None:
    g = gate.Gate(fingerprint={}, floors={"torch-int8": {"domain/passage/dense/nDCG@10": 0.60}}, margin=0.01)
    assert gate.check_scores(g, {"domain/passage/dense/nDCG@10": 0.595}, "torch-int8") == []
    assert gate.check_scores(g, {"domain/passage/dense/nDCG@10": 0.75}, "torch-int8") == []
    [failure] = gate.check_scores(g, {"domain/passage/dense/nDCG@10": 0.589}, "torch-int8")
    assert "0.5890 < floor 0.6000 - margin 0.01" in failure
    assert "no floor" in gate.check_scores(g, {"domain/passage/dense/nDCG@10": 0.6, "new/x": 0.5}, "torch-int8")[0]
    assert "not measured" in gate.check_scores(g, {}, "torch-int8")[0]
    with pytest.raises(gate.GateError, match="No floors pinned for the dense backend 'torch'"):
        gate.check_scores(g, {"domain/passage/dense/nDCG@10": 0.7}, "torch")


def test_pinning_writes_floors_rounded_down_and_reads_back(tmp_path: Path) -> None:
    fp = gate.Fingerprint("c" * 64, "k" * 64, "x" * 64, DEFAULT_MODEL, "hybrid-weighted-0.7", "120/200/40", "p")
    path = gate.pin({"domain/passage/lexical/nDCG@10": 0.63529}, fp, "torch-int8", tmp_path / "gate.toml")
    g = gate.load(path)
    assert g.floors == {"torch-int8": {"domain/passage/lexical/nDCG@10": 0.6352}}
    assert g.fingerprint["corpus_sha256"] == "c" * 64
    changed = gate.Fingerprint("d" * 64, *list(fp.as_dict().values())[1:])
    assert gate.check_fingerprint(g, changed) == [
        f"the sample corpus (corpus/sample) changed: pinned {'c' * 64!r}, now {'d' * 64!r}"
    ]
    # pinning another backend on the same fingerprint keeps the first; a new fingerprint drops both
    gate.pin({"domain/passage/lexical/nDCG@10": 0.64}, fp, "torch-bf16", path)
    assert set(gate.load(path).floors) == {"torch-int8", "torch-bf16"}
    gate.pin({"domain/passage/lexical/nDCG@10": 0.65}, changed, "torch-bf16", path)
    assert gate.load(path).floors == {"torch-bf16": {"domain/passage/lexical/nDCG@10": 0.65}}


@pytest.mark.slow
def test_gate_scores(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> None:
    pinned = gate.load()
    data_dir = tmp_path_factory.mktemp("gate")
    settings = _settings(data_dir)
    # what a process runs by default: passages by the session's model (tests/conftest.py), queries by the
    # query backend (the ONNX graph)
    embedder = load_runtime_embedder(settings, passages=real_embedder)  # type: ignore[arg-type]
    problems = gate.check_fingerprint(pinned, gate.fingerprint(settings, embedder.name))
    assert not problems, "Cannot compare with the pinned floors:\n  " + "\n  ".join(problems) + "\n" + gate.PIN_HINT
    scores, _, _ = gate.measure(settings, embedder, data_dir / "eval")
    failures = gate.check_scores(pinned, scores, getattr(embedder, "backend", settings.embed_backend))
    assert not failures, "Retrieval quality dropped below the pinned floors:\n  " + "\n  ".join(failures)
