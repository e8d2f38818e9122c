"""Dense embeddings: how text becomes a dense vector, identically at ingest and at query time.

``Embedder`` is the protocol; ``E5Embedder`` runs a sentence-transformers checkpoint (default
multilingual-e5-small with its ``query: `` / ``passage: `` prefixes), through ``core.model.encoder`` when the
checkpoint has the common Transformer -> mean Pooling -> Normalize shape (the same vectors without
importing sentence-transformers' training stack) and through sentence-transformers otherwise;
``HashingEmbedder`` is a
deterministic, model-free implementation for fast unit tests (a real embedder of character
trigrams, not a mock).

``RuntimeEmbedder`` is what a process runs (``load_runtime_embedder``): queries through the query
backend (by default the int8 ONNX graph on ONNX Runtime, ``core.model.onnx_encoder``, so a serving process
never imports torch) with a cache of recent query vectors, and passages through the embed backend,
loaded only when the first passage is embedded.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from core.errors import ModelError
from core.memory import release_freed_memory
from core.model.encoder import TransformerEncoder
from core.model.onnx_encoder import OnnxEncoder
from core.settings import DEFAULT_MODEL

if TYPE_CHECKING:
    from pathlib import Path

    import torch
    from sentence_transformers import SentenceTransformer

    from core.settings import Settings

log = logging.getLogger(__name__)


class Embedder(Protocol):
    name: str
    dim: int

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 matrix, one row per text."""

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 matrix, one row per query."""


class PassageEmbedder(Embedder, Protocol):
    """An embedder that says which backend runs it (``E5Embedder``, ``core.model.worker.WorkerEmbedder``)."""

    backend: str


_WORD = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    """Character-trigram feature hashing into ``dim`` buckets, L2-normalised. Deterministic."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.name = f"hashing-{dim}"

    def _one(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            padded = f"#{word}#"
            for i in range(max(1, len(padded) - 2)):
                h = int.from_bytes(hashlib.blake2b(padded[i : i + 3].encode(), digest_size=8).digest(), "little")
                vec[h % self.dim] += 1.0 if (h >> 63) & 1 else -1.0
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm > 0 else vec

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_passages(texts)


class E5Embedder:
    """A sentence-transformers checkpoint behind the ``Embedder`` protocol, run by a
    ``TransformerEncoder`` or by a ``SentenceTransformer``.

    For e5 models (the name contains ``e5``) passages are embedded as ``passage: <text>`` and queries
    as ``query: <text>``, the prefixes the model was trained with; other models get the text as is.
    Rows are float32 and L2-normalised, so a dot product is the cosine.
    """

    def __init__(
        self,
        model: SentenceTransformer | TransformerEncoder | OnnxEncoder,
        *,
        name: str,
        batch_size: int = 16,
        backend: str = "torch",
    ) -> None:
        dim = model.dim if isinstance(model, TransformerEncoder | OnnxEncoder) else model.get_embedding_dimension()
        if not dim:
            raise ModelError(f"The model {name} does not report its embedding dimension.")
        self.model = model
        self.name = name
        self.dim = int(dim)
        self.batch_size = batch_size
        self.backend = backend  # what runs ("auto" already resolved)
        self.runtime = (
            "transformers"
            if isinstance(model, TransformerEncoder)
            else "onnxruntime"
            if isinstance(model, OnnxEncoder)
            else "sentence-transformers"
        )
        e5 = "e5" in name.lower()
        self.query_prefix = "query: " if e5 else ""
        self.passage_prefix = "passage: " if e5 else ""

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if isinstance(self.model, TransformerEncoder | OnnxEncoder):
            return self.model.encode([prefix + t for t in texts], self.batch_size)
        vectors = self.model.encode(
            [prefix + t for t in texts],
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        vectors = np.array(vectors, dtype=np.float32)
        # normalised again in float32: under torch-bf16 the model's own Normalize step runs in bfloat16
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        normalised: np.ndarray = vectors / np.maximum(norms, 1e-12)
        return normalised

    def count_tokens(self, texts: Sequence[str]) -> int:
        """Tokens the model reads for ``texts`` (special tokens included, after truncation)."""
        if isinstance(self.model, TransformerEncoder | OnnxEncoder):
            return self.model.count_tokens(texts)
        encoded = self.model.tokenizer(list(texts), truncation=True, max_length=self.model.max_seq_length)
        return sum(len(ids) for ids in encoded["input_ids"])

    @property
    def module(self) -> torch.nn.Module:
        """The torch module that runs (what a backend converts)."""
        if isinstance(self.model, OnnxEncoder):
            raise ModelError("The ONNX backend runs no torch module.")
        return self.model.module if isinstance(self.model, TransformerEncoder) else self.model

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prefix)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prefix)


def torch_threads() -> int:
    """Threads for CPU inference: the cores this process may use, at most 8 (more rarely helps a
    small encoder and starves the API's other work)."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(available, 8))


def _holds_model(path: Path) -> bool:
    return (path / "modules.json").is_file() or (path / "config.json").is_file()


@contextlib.contextmanager
def _no_weight_progress_bar() -> Iterator[None]:
    """Silence transformers' "Loading weights" bar while a local checkpoint loads: it takes well under a
    second, and the bar would otherwise open every ``search`` and ``serve`` on stderr."""
    from transformers.utils import logging as hf_logging

    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        if shown:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def load_embedder(settings: Settings, *, backend: str | None = None, runtime: str = "auto") -> E5Embedder:
    """The dense embedder of ``settings``: model, backend and batch size.

    ``settings.model_path`` holding a model -> loaded from there without touching the network;
    otherwise the default model is first provisioned offline into that path
    (``core.model.install``); any other name is resolved by sentence-transformers (model hub, online).
    ``backend`` (default ``settings.embed_backend``) is resolved by ``resolve_backend`` and applied by
    ``apply_backend``; under bfloat16 the weights are read as bfloat16 straight away, so the process
    never holds a float32 copy of the model (200 MB less peak memory for the multilingual vocabulary).
    ``runtime="auto"`` runs a local checkpoint of the supported shape through ``TransformerEncoder``;
    ``"sentence-transformers"`` always uses that package (the reference the tests compare with).
    ``onnx-int8`` runs the install's int8 ONNX graph on ONNX Runtime and imports no torch.
    """
    if (backend or settings.embed_backend) == "onnx-int8":
        return _load_onnx_embedder(settings)
    import torch

    from core.model.install import hub_offline

    torch.set_num_threads(torch_threads())
    if runtime not in ("auto", "sentence-transformers"):
        raise ModelError(f"Unknown embedding runtime {runtime!r}; expected auto or sentence-transformers.")
    effective = resolve_backend(backend or settings.embed_backend)
    dtype = torch.bfloat16 if effective == "torch-bf16" else None
    kwargs: dict[str, Any] = {"model_kwargs": {"dtype": dtype}} if dtype is not None else {}
    model: SentenceTransformer | TransformerEncoder | None = None
    path = settings.model_path
    try:
        if not _holds_model(path) and settings.model_name == DEFAULT_MODEL:
            from core.model.install import install_default_model

            log.info("%s is not provisioned in %s yet; installing it offline now", DEFAULT_MODEL, path)
            install_default_model(path)
        if _holds_model(path):
            with hub_offline(), _no_weight_progress_bar():
                if runtime == "auto":
                    model = TransformerEncoder.load(path, dtype)
                if model is None:
                    from sentence_transformers import SentenceTransformer

                    model = SentenceTransformer(str(path), device="cpu", local_files_only=True, **kwargs)
        else:
            from sentence_transformers import SentenceTransformer

            log.info("Loading %s through sentence-transformers (model hub)", settings.model_name)
            model = SentenceTransformer(settings.model_name, device="cpu", **kwargs)
    except ModelError:
        raise
    except Exception as exc:  # OSError, ValueError, hub errors...: one message fit for a user
        where = path if _holds_model(path) else settings.model_name
        raise ModelError(f"Cannot load the embedding model {where}: {type(exc).__name__}: {exc}") from exc
    if isinstance(model, TransformerEncoder):
        model.module = apply_backend(model.module, effective)
    else:
        model.eval()
        model = apply_backend(model, effective)
    release_freed_memory()
    return E5Embedder(model, name=settings.model_name, batch_size=settings.embed_batch_size, backend=effective)


def _load_onnx_embedder(settings: Settings) -> E5Embedder:
    """The ``onnx-int8`` embedder: the verified graph of the provisioned model (installed or added to an
    older install first, which needs torch once), run by ONNX Runtime with the checkpoint's tokenizer."""
    from core.model.install import install_default_model, onnx_graph

    path = settings.model_path
    graph = onnx_graph(path)
    if graph is None and settings.model_name == DEFAULT_MODEL:
        log.info("%s has no ONNX graph in %s yet; writing it now", DEFAULT_MODEL, path)
        install_default_model(path)
        graph = onnx_graph(path)
    if graph is None:
        raise ModelError(
            f"The model in {path} has no verified ONNX graph (`foerdersuche model install` writes it for "
            f"{DEFAULT_MODEL}); set FOERDERSUCHE_EMBED_BACKEND and FOERDERSUCHE_QUERY_BACKEND to a torch backend."
        )
    if graph.words is None:
        log.warning(
            "The ONNX graph in %s holds its word table (about 90 MB more in this process); "
            "`foerdersuche model install` moves it out.",
            path,
        )
    encoder = OnnxEncoder.load(path, graph.graph, words=graph.words, threads=torch_threads())
    return E5Embedder(encoder, name=settings.model_name, batch_size=settings.embed_batch_size, backend="onnx-int8")


def resolve_query_backend(settings: Settings) -> str:
    """The backend that embeds queries, before ``auto`` of the embed backend is resolved: ``same`` is the
    embed backend; ``auto`` is ``onnx-int8`` when the provisioned model has its verified ONNX graph,
    else the embed backend. Never imports torch."""
    from core.model.install import onnx_graph

    choice = settings.query_backend
    if choice == "same":
        return settings.embed_backend
    if choice == "auto":
        return "onnx-int8" if onnx_graph(settings.model_path) is not None else settings.embed_backend
    return choice


class QueryCache:
    """The vectors of the last ``size`` distinct queries (least recently used dropped); thread-safe."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._rows: OrderedDict[tuple[str, str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> np.ndarray | None:
        with self._lock:
            row = self._rows.get(key)
            if row is None:
                self.misses += 1
                return None
            self._rows.move_to_end(key)
            self.hits += 1
            return row

    def put(self, key: tuple[str, str, str], row: np.ndarray) -> None:
        if self.size <= 0:
            return
        row = np.array(row, dtype=np.float32)
        row.setflags(write=False)
        with self._lock:
            self._rows[key] = row
            self._rows.move_to_end(key)
            while len(self._rows) > self.size:
                self._rows.popitem(last=False)

    def __len__(self) -> int:
        return len(self._rows)


class RuntimeEmbedder:
    """The dense embedder of a process (``Embedder`` protocol): queries by ``queries`` through a
    ``QueryCache`` keyed by model, backend and text; passages by the passage embedder, which is built
    by ``load_passages`` the first time a passage is embedded (a process that only searches never
    loads it, and with the ONNX query backend never imports torch)."""

    def __init__(
        self,
        queries: E5Embedder,
        *,
        passages: PassageEmbedder | None = None,
        load_passages: Callable[[], PassageEmbedder] | None = None,
        passage_backend: Callable[[], str] | None = None,
        cache_size: int = 1024,
    ) -> None:
        if passages is None and load_passages is None:
            raise ValueError("RuntimeEmbedder needs passages or load_passages")
        self.queries = queries
        self.name = queries.name
        self.dim = queries.dim
        self.cache = QueryCache(cache_size)
        self._passages = passages
        self._load_passages = load_passages
        self._passage_backend = passage_backend
        self._lock = threading.Lock()

    @property
    def passages(self) -> PassageEmbedder:
        if self._passages is None:
            with self._lock:
                if self._passages is None and self._load_passages is not None:
                    loaded = self._load_passages()
                    if loaded.dim != self.dim:
                        raise ModelError(f"Passage embedder has {loaded.dim} dimensions, queries {self.dim}.")
                    self._passages = loaded
        assert self._passages is not None
        return self._passages

    @property
    def passages_loaded(self) -> bool:
        return self._passages is not None

    @property
    def query_backend(self) -> str:
        return self.queries.backend

    @property
    def passage_backend(self) -> str:
        """What embeds passages ("auto" resolved), without loading that model when it is not loaded yet."""
        if self._passages is not None:
            return self._passages.backend
        return self._passage_backend() if self._passage_backend is not None else self.passages.backend

    @property
    def backend(self) -> str:
        """``passages+queries`` when the two differ (``torch-bf16+onnx-int8``), else the one backend."""
        passage, query = self.passage_backend, self.query_backend
        return passage if passage == query else f"{passage}+{query}"

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.passages.embed_passages(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing: list[int] = []
        for i, text in enumerate(texts):
            row = self.cache.get(self._key(text))
            if row is None:
                missing.append(i)
            else:
                out[i] = row
        if missing:
            fresh = self.queries.embed_queries([texts[i] for i in missing])
            for row, i in zip(fresh, missing, strict=True):
                out[i] = row
                self.cache.put(self._key(texts[i]), row)
        return out

    def _key(self, text: str) -> tuple[str, str, str]:
        return (self.name, self.queries.backend, text)


def load_runtime_embedder(
    settings: Settings, *, passages: E5Embedder | None = None, passages_in_worker: bool = False
) -> RuntimeEmbedder:
    """The embedder of ``settings`` for a process: queries by ``resolve_query_backend`` (loaded now),
    passages by ``settings.embed_backend`` (the same model object when both resolve alike, else loaded
    on first use). ``passages``: an already loaded passage embedder to use (tests, evaluation).
    ``passages_in_worker``: a passage backend other than the queries' runs in a child process
    (``core.model.worker``; the server, so that its admin jobs never load torch into it)."""
    query = resolve_query_backend(settings)
    passage = settings.embed_backend
    if passages is not None and query in ("same", passages.backend, passage):
        return RuntimeEmbedder(passages, passages=passages, cache_size=settings.query_cache_size)
    queries = load_embedder(settings, backend=query)
    if passages is not None:
        return RuntimeEmbedder(queries, passages=passages, cache_size=settings.query_cache_size)
    same = passage == query if "onnx-int8" in (passage, query) else resolve_backend(passage) == queries.backend
    if same:
        return RuntimeEmbedder(queries, passages=queries, cache_size=settings.query_cache_size)
    if passages_in_worker:
        from core.model.worker import WorkerEmbedder

        def load_passages() -> PassageEmbedder:
            return WorkerEmbedder(settings, passage, load_embedder)
    else:

        def load_passages() -> PassageEmbedder:
            return load_embedder(settings, backend=passage)

    return RuntimeEmbedder(
        queries,
        load_passages=load_passages,
        passage_backend=lambda: resolve_backend(passage),
        cache_size=settings.query_cache_size,
    )


M = TypeVar("M", bound="torch.nn.Module")

BACKENDS = ("auto", "torch", "torch-int8", "torch-bf16", "onnx-int8")

# The second linear layer of each feed-forward block (BERT: ``encoder.layer.<i>.output.dense``).
# Its input is the GELU output, whose outliers a per-batch int8 activation scale crushes: quantising
# it too cost 0.018 nDCG@10 on XQuAD-de (evaluation/reports/model_backends.md), the rest 0.003.
_FFN_OUTPUT = re.compile(r"(?:^|\.)layer\.\d+\.output\.dense$")


def bf16_is_fast() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX); elsewhere bf16 is emulated."""
    import torch

    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def resolve_backend(backend: str) -> str:
    """The backend that actually runs: ``auto`` is ``torch-bf16`` where the CPU multiplies bfloat16
    natively (fastest and as accurate as float32 here: README, "Measured") and ``torch-int8`` elsewhere;
    ``torch-bf16`` asked for on a CPU without native bf16 also becomes ``torch-int8`` (with a warning:
    emulated bf16 is several times slower than float32)."""
    if backend not in BACKENDS:
        raise ModelError(f"Unknown embedding backend {backend!r}; expected one of {', '.join(BACKENDS)}.")
    if backend == "onnx-int8":
        return backend
    if backend == "auto":
        return "torch-bf16" if bf16_is_fast() else "torch-int8"
    if backend == "torch-bf16" and not bf16_is_fast():
        log.warning("This CPU has no native bfloat16 (AVX512-BF16/AMX); using torch-int8 instead of torch-bf16")
        return "torch-int8"
    return backend


def apply_backend(model: M, backend: str) -> M:
    """Prepare a loaded (fp32, eval mode) model for CPU inference with ``backend``:

    - ``torch``: float32 as loaded;
    - ``torch-int8``: dynamic int8 quantisation (per-channel int8 weights, activations quantised per
      batch at run time) of every ``nn.Linear`` except the feed-forward output projections;
    - ``torch-bf16``: weights and activations in bfloat16; chosen only where the CPU has native bf16
      (else it falls back to ``torch-int8`` and logs why). Embeddings come back as float32 either way.
    """
    import torch

    backend = resolve_backend(backend)
    if backend == "torch":
        return model
    if backend == "torch-bf16":
        return model.to(torch.bfloat16)  # a no-op for weights load_embedder already read as bf16
    if backend == "torch-int8":
        from torch.ao.quantization import per_channel_dynamic_qconfig

        spec = {
            name: per_channel_dynamic_qconfig
            for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear) and not _FFN_OUTPUT.search(name)
        }
        with warnings.catch_warnings():
            # torch 2.13 marks torch.ao dynamic quantisation deprecated (in favour of torchao, not
            # installed); it works as measured in evaluation/reports/model_backends.md, torch is pinned.
            warnings.filterwarnings(
                "ignore", message=r"torch\.ao\.quantization is deprecated", category=DeprecationWarning
            )
            warnings.filterwarnings("ignore", message=r".*quantize_per_(tensor|channel).*", category=UserWarning)
            quantize = torch.ao.quantization.quantize_dynamic
            quantize(model, spec, dtype=torch.qint8, inplace=True)  # type: ignore[no-untyped-call]
        return model
    raise ModelError(f"Unknown embedding backend {backend!r}; expected one of {', '.join(BACKENDS)}.")
