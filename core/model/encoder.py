"""The inference half of a sentence-transformers checkpoint, run with transformers + ``core.model.tokenizer``.

The default model is stored as a sentence-transformers checkpoint of the most common shape:
``Transformer -> Pooling(mean) -> Normalize``. Computing that needs the encoder (transformers), the
tokenizer (tokenizers) and ten lines of pooling; importing the ``sentence_transformers`` package for it
also imports pandas, scikit-learn, scipy, sympy and PIL (its training and evaluation helpers), 200 MB of
resident memory in every serving process, and its tokenizer wrapper adds 85 MB more. ``TransformerEncoder``
computes the same vectors without them (``tests/core/test_model.py`` compares both on German text). The
tokenizer is ``core.model.tokenizer``'s: for the default model's Unigram vocabulary it gives ``tokenizers``' ids
in about 210 MB less resident memory, and for any other ``tokenizer.json`` it is ``tokenizers`` itself;
``load`` returns None for a checkpoint of any other shape, which then runs through sentence-transformers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.model.tokenizer import TokenBatcher, load_tokenizer

if TYPE_CHECKING:
    import torch

_MODULES = (
    "sentence_transformers.base.modules.transformer.Transformer",
    "sentence_transformers.sentence_transformer.modules.pooling.Pooling",
    "sentence_transformers.base.modules.normalize.Normalize",
)
# sentence-transformers before v6 named the same modules like this
_MODULES_V5 = (
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def supported(path: Path) -> bool:
    """Whether the checkpoint at ``path`` is Transformer -> mean Pooling -> Normalize with a tokenizer.json."""
    try:
        modules = _read_json(path / "modules.json")
        if tuple(m["type"] for m in modules) not in (_MODULES, _MODULES_V5):
            return False
        pooling_dir = path / modules[1]["path"]
        pooling = _read_json(pooling_dir / "config.json")
        others = [v for k, v in pooling.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens"]
        mean = pooling.get("pooling_mode") == "mean" or (
            pooling.get("pooling_mode_mean_tokens") is True and not any(others)
        )
        st_file = path / "sentence_bert_config.json"
        st_config = _read_json(st_file) if st_file.is_file() else {}
        return (
            mean
            and pooling.get("include_prompt", True) is True
            and not st_config.get("do_lower_case", False)
            and (path / "tokenizer.json").is_file()
            and (path / "config.json").is_file()
        )
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return False


def _max_length(path: Path, position_embeddings: int) -> int:
    """sentence-transformers' rule: ``max_seq_length`` if set, else the tokenizer's model_max_length,
    never beyond the model's position embeddings."""
    limit = position_embeddings
    for name, key in (("sentence_bert_config.json", "max_seq_length"), ("tokenizer_config.json", "model_max_length")):
        file = path / name
        if file.is_file():
            value = _read_json(file).get(key)
            if isinstance(value, int) and value > 0:
                return min(value, limit)
    return limit


def load_checkpoint_tokenizer(path: Path) -> tuple[TokenBatcher, int, int]:
    """The tokenizer of the checkpoint at ``path`` as the model reads it (truncation, padding id), with
    the model's hidden size and maximum length, from its plain JSON files (no transformers import)."""
    config = _read_json(path / "config.json")
    pad_id = config.get("pad_token_id")
    pad_id = 0 if pad_id is None else int(pad_id)
    max_length = _max_length(path, int(config.get("max_position_embeddings", 512)))
    tokenizer = load_tokenizer(path / "tokenizer.json", max_length=max_length, pad_id=pad_id)
    return tokenizer, int(config["hidden_size"]), max_length


class TransformerEncoder:
    """Mean-pooled, L2-normalised sentence vectors of a transformers encoder (float32 rows)."""

    def __init__(self, module: torch.nn.Module, tokenizer: TokenBatcher, *, dim: int, max_length: int) -> None:
        self.module = module
        self.tokenizer = tokenizer
        self.dim = dim
        self.max_length = max_length

    @classmethod
    def load(cls, path: Path, dtype: torch.dtype | None = None) -> TransformerEncoder | None:
        """The encoder of the checkpoint at ``path``, or None when its shape is not the supported one."""
        if not supported(path):
            return None
        from transformers import AutoConfig, AutoModel

        config = AutoConfig.from_pretrained(str(path), local_files_only=True)
        kwargs = {"dtype": dtype} if dtype is not None else {}
        module = AutoModel.from_pretrained(str(path), config=config, local_files_only=True, **kwargs)
        module.eval()
        pad_id = getattr(config, "pad_token_id", None)
        pad_id = 0 if pad_id is None else int(pad_id)
        max_length = _max_length(path, int(getattr(config, "max_position_embeddings", 512)))
        tokenizer = load_tokenizer(path / "tokenizer.json", max_length=max_length, pad_id=pad_id)
        return cls(module, tokenizer, dim=int(config.hidden_size), max_length=max_length)

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """One row per text; texts are batched by length (as sentence-transformers does) to pad little."""
        import torch

        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                id_rows, mask_rows = self.tokenizer.batch([texts[i] for i in rows])
                ids = torch.tensor(id_rows, dtype=torch.long)
                mask = torch.tensor(mask_rows, dtype=torch.long)
                hidden = self.module(input_ids=ids, attention_mask=mask).last_hidden_state.float()
                weights = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2.0, dim=1)
                out[rows] = pooled.numpy()
        return out

    def count_tokens(self, texts: Sequence[str]) -> int:
        """Tokens the model reads for ``texts`` (special tokens included, after truncation)."""
        _ids, masks = self.tokenizer.batch(texts)
        return sum(sum(m) for m in masks)
