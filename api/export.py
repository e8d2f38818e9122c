"""Exports of a result list for researchers: CSV (spreadsheets) and JSON (exact values).

CSV: UTF-8 with a byte-order mark (so spreadsheet programs detect the encoding), comma-separated,
one row per retrieved passage with the columns of ``api.schemas.ExportRow``; list cells are joined
with `` | ``. Text cells starting with ``= + - @`` or a tab get a leading apostrophe so a spreadsheet
does not run them as formulas (CSV injection); the JSON export keeps every value unchanged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from fastapi import Response

from api.schemas import ExportResponse, ExportRow
from api.search_view import EXPORT_COLUMNS, Retrieved, export_rows

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, list):
        value = " | ".join(str(v) for v in value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(rows: list[ExportRow]) -> bytes:
    data = (row.model_dump() for row in rows)
    return csv_text([list(EXPORT_COLUMNS), *([d[c] for c in EXPORT_COLUMNS] for d in data)])


def csv_response(body: bytes, filename: str) -> Response:
    """A CSV download (``csv_text``'s bytes) named ``filename``."""
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def csv_text(rows: Iterable[Sequence[object]]) -> bytes:
    """Rows (header first) as CSV for spreadsheets: UTF-8 with BOM, formula-looking cells defused."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def to_json(found: Retrieved) -> ExportResponse:
    rows = export_rows(found)
    return ExportResponse(
        query=found.params.q,
        mode=found.result.request.options.mode,
        k=found.params.k,
        filter=found.applied,
        exported_at=datetime.now(UTC).isoformat(timespec="seconds"),
        count=len(rows),
        hits=rows,
    )


def filename(suffix: str) -> str:
    return f"foerdersuche-export-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}.{suffix}"
