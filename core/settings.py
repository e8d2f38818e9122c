"""The one Settings object. Built only in entry points (CLI ``main``, ``api.app.create_app``).

Every field can be set by an environment variable ``FOERDERSUCHE_<NAME>`` (upper case). The README's
configuration table is checked against these fields by tests/core/test_settings_documented.py.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = "intfloat/multilingual-e5-small"


def default_data_dir() -> Path:
    """``<project>/data`` in a source checkout, else the user's data directory."""
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        return PROJECT_ROOT / "data"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "foerdersuche"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FOERDERSUCHE_", extra="ignore", frozen=True)

    # --- where things live
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Root of all state: embedded index, registry, raw files, models, reports.",
    )

    # --- embedding model
    model_name: str = Field(
        default=DEFAULT_MODEL,
        description="sentence-transformers model name or path. The default is provisioned offline by "
        "`foerdersuche model install`; other names are fetched from the model hub when online.",
    )
    model_dir: Path | None = Field(
        default=None,
        description="Directory of a provisioned model; default `<data_dir>/models/<model name>`.",
    )
    embed_batch_size: int = Field(default=16, ge=1, le=512, description="Passages per embedding batch.")
    embed_backend: Literal["auto", "torch", "torch-int8", "torch-bf16", "onnx-int8"] = Field(
        default="auto",
        description="How the dense model embeds passages on the CPU: `auto` (`torch-bf16` where the CPU has native "
        "bfloat16, else `torch-int8`), `torch` (fp32), `torch-int8` (dynamic int8 quantisation of the linear "
        "layers except the feed-forward output projections), `torch-bf16` (bfloat16 on CPUs with native "
        "support, else falls back to int8) or `onnx-int8` (the int8 ONNX graph `foerdersuche model install` "
        "writes, on ONNX Runtime, no torch); measured in the README.",
    )
    query_backend: Literal["auto", "same", "torch", "torch-int8", "torch-bf16", "onnx-int8"] = Field(
        default="auto",
        description="How queries are embedded: `auto` = `onnx-int8` when the model has its verified ONNX graph "
        "(the default model after `foerdersuche model install`), else as passages; `same` = as passages; or a "
        "backend of `FOERDERSUCHE_EMBED_BACKEND`. With `onnx-int8` a serving process (`serve`, `search`, "
        "`ask`) never imports torch until it embeds passages (an ingest).",
    )
    query_cache_size: int = Field(
        default=1024,
        ge=0,
        description="Query vectors kept per process (least recently used dropped), so a repeated query "
        "(pagination, facets, exports) is not embedded again; 0 = no cache.",
    )

    # --- index
    qdrant_url: str | None = Field(
        default=None,
        description="URL of a Qdrant server or cluster; unset = embedded Qdrant Edge in the data dir.",
    )
    qdrant_api_key: str | None = Field(default=None, repr=False, description="API key for the Qdrant server.")
    collection: str = Field(default="passages", description="Collection (server) / shard (Edge) name.")
    summary_points: int = Field(
        default=5_000_000,
        ge=0,
        description="`serve` keeps the ranking fields of up to this many passages of the embedded index in memory "
        "(columns of about 32 bytes a passage and 4 a place key, each document's citation fields once: 174 MiB "
        "for the benchmark's 1M passages of 125,000 documents), read in a background thread after the start "
        "(5-8 s per 100k passages; queries read those fields from the index meanwhile), so a query reads only "
        "ids and scores from the index; above it, or 0, they are read from the index per query.",
    )

    # --- chunking
    chunk_target_words: int = Field(default=120, ge=20, description="Preferred passage length in words.")
    chunk_max_words: int = Field(default=200, ge=30, description="Hard upper bound of a passage in words.")
    chunk_min_words: int = Field(
        default=40, ge=1, description="Shorter trailing pieces merge into the previous passage."
    )

    # --- retrieval
    search_mode: Literal["hybrid", "dense", "lexical"] = Field(default="hybrid", description="Default retrieval mode.")
    fusion: Literal["weighted", "rrf", "dbsf"] = Field(
        default="weighted",
        description="How hybrid fuses dense and lexical: min-max `weighted`, or Qdrant's server-side `rrf` / `dbsf`.",
    )
    dense_weight: float = Field(default=0.5, ge=0.0, le=1.0, description="Dense share in weighted fusion.")
    prefetch_limit: int = Field(default=100, ge=1, le=1000, description="Candidates per retriever before fusion.")
    place_boost: float = Field(
        default=0.15, ge=0.0, description="Score boost for passages about a place named in the query (soft)."
    )

    # --- ingest limits
    max_file_bytes: int = Field(default=50_000_000, description="Files larger than this are skipped.")
    parse_timeout_s: float = Field(default=60.0, description="Per-file parse time limit (seconds).")
    parse_memory_mb: int = Field(default=2048, description="Per-file parse memory limit (MiB).")

    # --- OCR of scanned PDF pages (README "Scanned PDFs (OCR)")
    ocr_enabled: bool = Field(
        default=True,
        description="Read PDF pages without a usable text layer (scans) and pages with a garbled text layer by OCR "
        "(Tesseract); off = such files stay `needs_ocr` / `garbled`.",
    )
    ocr_languages: str = Field(default="deu", description="Tesseract language models, joined by `+` (e.g. `deu+eng`).")
    ocr_dpi: int = Field(
        default=200, ge=72, le=600, description="Resolution at which PDF pages are rendered for OCR (dots per inch)."
    )
    ocr_page_timeout_s: float = Field(
        default=30.0, gt=0, description="Time limit for the OCR of one page (seconds); a page over it stays unread."
    )
    ocr_max_pages: int = Field(
        default=100, ge=1, description="At most this many pages of one file are read by OCR; the rest stay unread."
    )
    ocr_min_confidence: float = Field(
        default=60.0,
        ge=0,
        le=100,
        description="Pages whose mean OCR word confidence (0-100) lies under this are indexed but flagged.",
    )
    ocr_tessdata_dir: Path | None = Field(
        default=None,
        description="Directory of Tesseract's language models; unset = `TESSDATA_PREFIX` or Debian's "
        "`/usr/share/tesseract-ocr/5/tessdata`.",
    )

    min_free_disk_mb: int = Field(
        default=128,
        ge=0,
        description="Writes to the embedded index stop with an error while the data directory's file system has "
        "less free space than this (MiB); 0 = no check. The index writes through memory-mapped files, so a full "
        "disk would otherwise kill the process (SIGBUS) instead of failing one write.",
    )

    # --- crawler
    allow_private_networks: bool = Field(
        default=False,
        description="Let the crawler connect to private, loopback and link-local addresses (tests, intranets).",
    )
    user_agent: str = Field(
        default="foerdersuche-crawler/0.1 (+https://github.com/foerdersuche; kontakt@foerdersuche.example)",
        description="User-Agent sent by the crawler.",
    )

    # --- API
    admin_key: str | None = Field(  # repr=False: a logged Settings never shows a key
        default=None,
        repr=False,
        description="API key for admin endpoints (X-API-Key); unset = admin endpoints disabled.",
    )
    host: str = Field(default="127.0.0.1", description="Address `foerdersuche serve` binds to.")
    port: int = Field(default=8000, description="Port `foerdersuche serve` listens on.")
    ingest_roots: tuple[Path, ...] = Field(
        default=(),
        description="Folders `POST /ingest` may read from (JSON list); empty = `<project>/corpus` and "
        "`<data_dir>/inbox`. Requested paths must lie inside one of them after resolving symlinks.",
    )
    search_rate_limit: float = Field(
        default=0.0,
        ge=0.0,
        description="Search requests (`/search`, exports, the web page's searches) per second and client address "
        "(token bucket, refilled at this rate); answered 429 beyond it; 0 = no limit (the Docker image sets 20). "
        "The client address is "
        "the proxy's unless the proxy is trusted (uvicorn trusts X-Forwarded-For from 127.0.0.1, more with the "
        "environment variable FORWARDED_ALLOW_IPS).",
    )
    search_rate_burst: int = Field(
        default=40, ge=1, description="Search requests a client may send at once before `search_rate_limit` applies."
    )
    sources_file: Path | None = Field(
        default=None,
        description="Sources file (TOML) that `POST /crawl` reads its source names from; unset = "
        "`<project>/corpus/sources.toml`.",
    )

    @property
    def model_path(self) -> Path:
        if self.model_dir is not None:
            return self.model_dir
        return self.data_dir / "models" / self.model_name.replace("/", "__")

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def registry_path(self) -> Path:
        return self.data_dir / "registry.sqlite3"

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"
