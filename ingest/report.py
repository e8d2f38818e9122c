"""What an ingest run reports: one ``FileResult`` per input (status, reason, passages, OCR pages) and the
run's ``IngestReport`` (counts, JSON for ``--json``, the API's jobs and ``<data_dir>/reports``), and what a
register refresh did."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from core.models import FileStatus, OcrPage
from ingest.ocr import ocr_file_summary, ocr_run_summary


@dataclass(frozen=True)
class FileResult:
    source: str
    status: FileStatus
    reason: str | None
    passages: int = 0
    doc_id: str | None = None
    title: str | None = None
    ocr_pages: tuple[OcrPage, ...] = ()  # the pages whose text OCR read (JSON: "ocr", a summary)


def _file_dict(f: FileResult) -> dict[str, object]:
    out = asdict(f)
    del out["ocr_pages"]
    return {**out, "status": f.status.value, "ocr": ocr_file_summary(f.ocr_pages)}


@dataclass(frozen=True)
class IngestReport:
    files: tuple[FileResult, ...]
    seconds: float
    passages_written: int = 0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.files:
            out[f.status.value] = out.get(f.status.value, 0) + 1
        return out

    def to_dict(self) -> dict[str, object]:
        return {
            "files": [_file_dict(f) for f in self.files],
            "counts": self.counts(),
            "passages_written": self.passages_written,
            "seconds": round(self.seconds, 3),
            "ocr": ocr_run_summary([(f.source, f.ocr_pages) for f in self.files]),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


@dataclass(frozen=True)
class RefreshReport:
    """What ``refresh_register`` did: documents re-enriched, and those whose raw bytes could not be read."""

    refreshed: int
    failed: tuple[tuple[str, str], ...] = ()
