"""Sentence vectors from the checkpoint's ONNX graph on ONNX Runtime: no torch in the process.

``foerdersuche model install`` writes ``<model dir>/onnx/encoder_qint8.onnx`` (``core.model.onnx_export``):
the encoder with mean pooling and L2 normalisation inside the graph, int8 where it costs no quality, and
beside it the int8 word-embedding table (``words_qint8.npy``, 250,037 x 384, 96 MB). The table is not in
the graph: a query reads the rows of its few dozen tokens from the file (``WordTable``) and hands them to
the graph with the token ids renumbered, so the process holds about 45 MB of graph instead of 140 MB
(the rows it read stay in the page cache, not in the process). The graph's arithmetic is unchanged: the
vectors are bit for bit those of the graph with the table inside (checked at install).
Running it needs onnxruntime, numpy and the checkpoint's tokenizer (``core.model.tokenizer``), no torch.
``OnnxEncoder.encode`` returns what ``core.model.encoder.TransformerEncoder.encode`` returns (float32 rows,
L2-normalised), within the quantisation error checked at install. An install from before the split has
the table inside its graph (``words`` is None) and runs as it is.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.errors import ModelError
from core.model.encoder import load_checkpoint_tokenizer
from core.model.tokenizer import TokenBatcher

if TYPE_CHECKING:
    import onnxruntime


REINSTALL = "Remove the model's onnx folder and run `foerdersuche model install`: it writes the graph again."
# The graph input that takes the rows of the word-embedding table a batch uses (``onnx_export.split_words``).
WORDS_INPUT = "word_embeddings"


class WordTable:
    """A graph's word-embedding table in a ``.npy`` file, read a row per distinct token of a batch
    (``os.pread``: no memory map, so neither the rows nor their neighbours enter the process). The file
    is opened per batch (microseconds against milliseconds of the graph), so nothing stays open."""

    def __init__(self, path: Path) -> None:
        try:
            header = np.load(path, mmap_mode="r")  # parses the header; the mapping is never read
            self.rows, self.width = (int(n) for n in header.shape)
            self.dtype = header.dtype
            self.offset = int(header.offset)
            del header
        except (OSError, ValueError) as exc:
            raise ModelError(f"Cannot read the word table {path}: {exc}. {REINSTALL}") from exc
        self.path = path
        self._row_bytes = self.width * self.dtype.itemsize

    def gather(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``ids`` renumbered into the returned rows: ``rows[renumbered] == table[ids]``."""
        unique, inverse = np.unique(ids, return_inverse=True)
        if len(unique) and (unique[0] < 0 or unique[-1] >= self.rows):
            raise ModelError(f"Token id {int(unique[-1])} is outside the word table {self.path} ({self.rows} rows).")
        size, offset = self._row_bytes, self.offset
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError as exc:
            raise ModelError(f"Cannot read the word table {self.path}: {exc}. {REINSTALL}") from exc
        try:
            data = b"".join(os.pread(fd, size, offset + int(i) * size) for i in unique)
        finally:
            os.close(fd)
        if len(data) != len(unique) * size:
            raise ModelError(f"The word table {self.path} is truncated. {REINSTALL}")
        rows = np.frombuffer(data, dtype=self.dtype).reshape(len(unique), self.width)
        return inverse.reshape(ids.shape).astype(np.int64), rows


class OnnxEncoder:
    """Mean-pooled, L2-normalised sentence vectors of an exported checkpoint (float32 rows)."""

    def __init__(
        self,
        session: onnxruntime.InferenceSession,
        tokenizer: TokenBatcher,
        *,
        dim: int,
        words: WordTable | None = None,
    ) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.dim = dim
        self.words = words

    @classmethod
    def load(cls, model_dir: Path, graph: Path, *, words: Path | None = None, threads: int = 2) -> OnnxEncoder:
        """The graph at ``graph`` with the tokenizer of the checkpoint in ``model_dir``; ``words`` is its
        word table when the graph takes the table's rows as an input (``WORDS_INPUT``).

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
        table = WordTable(words) if words is not None else None
        try:
            session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
            tokenizer, dim, _max_length = load_checkpoint_tokenizer(model_dir)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph: one message fit for a user
            raise ModelError(f"Cannot load the ONNX graph {graph}: {type(exc).__name__}: {exc}") from exc
        takes_words = WORDS_INPUT in {i.name for i in session.get_inputs()}
        if takes_words != (table is not None):
            raise ModelError(
                f"The ONNX graph {graph} {'takes' if takes_words else 'does not take'} a word table, but "
                f"{'none' if table is None else table.path} was given. {REINSTALL}"
            )
        return cls(session, tokenizer, dim=dim, words=table)

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """One row per text; texts are batched by length to pad little (as ``TransformerEncoder`` does)."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            ids, mask = self.tokenizer.batch([texts[i] for i in rows])
            feed = {"input_ids": np.asarray(ids, dtype=np.int64), "attention_mask": np.asarray(mask, dtype=np.int64)}
            if self.words is not None:
                feed["input_ids"], feed[WORDS_INPUT] = self.words.gather(feed["input_ids"])
            (vectors,) = self.session.run(["embedding"], feed)
            vectors = np.asarray(vectors, dtype=np.float32)
            out[rows] = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return out

    def count_tokens(self, texts: Sequence[str]) -> int:
        """Tokens the model reads for ``texts`` (special tokens included, after truncation)."""
        _ids, masks = self.tokenizer.batch(texts)
        return sum(sum(m) for m in masks)
