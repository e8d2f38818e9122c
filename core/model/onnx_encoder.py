"""Sentence vectors from the checkpoint's ONNX graph on ONNX Runtime: no torch in the process.

``foerdersuche model install`` writes ``<model dir>/onnx/model_qint8.onnx`` (``core.model.onnx_export``):
the encoder with mean pooling and L2 normalisation inside the graph, int8 where it costs no quality.
Running it needs onnxruntime, numpy and the checkpoint's tokenizer (``core.model.tokenizer``), so a serving
process that embeds only queries holds about 140 MB of graph instead of torch and its float weights
(README, "Measured"). ``OnnxEncoder.encode`` returns what ``core.model.encoder.TransformerEncoder.encode``
returns (float32 rows, L2-normalised), within the quantisation error checked at install.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.errors import ModelError
from core.model.encoder import load_checkpoint_tokenizer
from core.model.tokenizer import TokenBatcher

if TYPE_CHECKING:
    import onnxruntime


class OnnxEncoder:
    """Mean-pooled, L2-normalised sentence vectors of an exported checkpoint (float32 rows)."""

    def __init__(self, session: onnxruntime.InferenceSession, tokenizer: TokenBatcher, *, dim: int) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.dim = dim

    @classmethod
    def load(cls, model_dir: Path, graph: Path, *, threads: int = 2) -> OnnxEncoder:
        """The graph at ``graph`` with the tokenizer of the checkpoint in ``model_dir``.

        Threads do not spin between calls (``allow_spinning`` 0): a query encoder idles most of the
        time, and spinning threads would take the core from the store and the other requests."""
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelError("onnxruntime is not installed; install the project again (pip install -e .).") from exc
        if not graph.is_file():
            raise ModelError(f"No ONNX graph at {graph}; run `foerdersuche model install` to write it.")
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # errors only: the fused graph's shape-inference notes are no news
        try:
            session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
            tokenizer, dim, _max_length = load_checkpoint_tokenizer(model_dir)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph: one message fit for a user
            raise ModelError(f"Cannot load the ONNX graph {graph}: {type(exc).__name__}: {exc}") from exc
        return cls(session, tokenizer, dim=dim)

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """One row per text; texts are batched by length to pad little (as ``TransformerEncoder`` does)."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            ids, mask = self.tokenizer.batch([texts[i] for i in rows])
            feed = {"input_ids": np.asarray(ids, dtype=np.int64), "attention_mask": np.asarray(mask, dtype=np.int64)}
            (vectors,) = self.session.run(["embedding"], feed)
            vectors = np.asarray(vectors, dtype=np.float32)
            out[rows] = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return out

    def count_tokens(self, texts: Sequence[str]) -> int:
        """Tokens the model reads for ``texts`` (special tokens included, after truncation)."""
        _ids, masks = self.tokenizer.batch(texts)
        return sum(sum(m) for m in masks)
