"""Dense embeddings: how text becomes a dense vector, identically at ingest and at query time.

``Embedder`` is the protocol; ``E5Embedder`` runs a sentence-transformers model (default
multilingual-e5-small with its ``query: `` / ``passage: `` prefixes); ``HashingEmbedder`` is a
deterministic, model-free implementation for fast unit tests (a real embedder of character
trigrams, not a mock).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Protocol

import numpy as np


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
