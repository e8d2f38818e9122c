"""Dense embeddings: how text becomes a dense vector, identically at ingest and at query time.

``Embedder`` is the protocol; ``E5Embedder`` runs a sentence-transformers checkpoint (default
multilingual-e5-small with its ``query: `` / ``passage: `` prefixes), through ``core.encoder`` when the
checkpoint has the common Transformer -> mean Pooling -> Normalize shape (the same vectors without
importing sentence-transformers' training stack) and through sentence-transformers otherwise;
``HashingEmbedder`` is a
deterministic, model-free implementation for fast unit tests (a real embedder of character
trigrams, not a mock).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from core.encoder import TransformerEncoder
from core.errors import ModelError
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
        model: SentenceTransformer | TransformerEncoder,
        *,
        name: str,
        batch_size: int = 16,
        backend: str = "torch",
    ) -> None:
        dim = model.dim if isinstance(model, TransformerEncoder) else model.get_embedding_dimension()
        if not dim:
            raise ModelError(f"The model {name} does not report its embedding dimension.")
        self.model = model
        self.name = name
        self.dim = int(dim)
        self.batch_size = batch_size
        self.backend = backend  # what runs ("auto" already resolved)
        self.runtime = "transformers" if isinstance(model, TransformerEncoder) else "sentence-transformers"
        e5 = "e5" in name.lower()
        self.query_prefix = "query: " if e5 else ""
        self.passage_prefix = "passage: " if e5 else ""

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if isinstance(self.model, TransformerEncoder):
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
        if isinstance(self.model, TransformerEncoder):
            return self.model.count_tokens(texts)
        encoded = self.model.tokenizer(list(texts), truncation=True, max_length=self.model.max_seq_length)
        return sum(len(ids) for ids in encoded["input_ids"])

    @property
    def module(self) -> torch.nn.Module:
        """The torch module that runs (what a backend converts)."""
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
    (``core.model_install``); any other name is resolved by sentence-transformers (model hub, online).
    ``backend`` (default ``settings.embed_backend``) is resolved by ``resolve_backend`` and applied by
    ``apply_backend``; under bfloat16 the weights are read as bfloat16 straight away, so the process
    never holds a float32 copy of the model (200 MB less peak memory for the multilingual vocabulary).
    ``runtime="auto"`` runs a local checkpoint of the supported shape through ``TransformerEncoder``;
    ``"sentence-transformers"`` always uses that package (the reference the tests compare with).
    """
    import torch

    from core.model_install import hub_offline

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
            from core.model_install import install_default_model

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
    _release_freed_memory()
    return E5Embedder(model, name=settings.model_name, batch_size=settings.embed_batch_size, backend=effective)


def _release_freed_memory() -> None:
    """Hand the heap freed while loading (float32 weights replaced by int8 or bf16) back to the OS, so
    the serving process's resident memory is what the model needs, not what loading it needed."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: the process reuses the memory instead
        ctypes.CDLL("libc.so.6").malloc_trim(0)


M = TypeVar("M", bound="torch.nn.Module")

BACKENDS = ("auto", "torch", "torch-int8", "torch-bf16")

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
