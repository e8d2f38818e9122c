"""What to ingest: files and folders expanded into source items; what cannot be ingested becomes a
result with its status and reason right away (a missing path, an unsupported file type)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.models import FileStatus
from core.settings import PROJECT_ROOT
from ingest.report import FileResult

SUPPORTED_SUFFIXES = (".html", ".htm", ".pdf", ".txt", ".md")


@dataclass(frozen=True)
class SourceItem:
    """One thing to ingest: a local file or fetched bytes, with where it came from."""

    source: str
    path: Path | None = None
    data: bytes | None = None
    url: str | None = None
    content_type: str | None = None
    source_name: str | None = None

    @property
    def suffix(self) -> str | None:
        name = self.path.name if self.path else (self.url or self.source)
        return Path(name.split("?", 1)[0]).suffix.lower() or None


def display_source(path: Path) -> str:
    """A file's source as shown in citations: relative to the project root when inside it."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return resolved.as_posix()


def discover(paths: Sequence[Path]) -> tuple[list[SourceItem], list[FileResult]]:
    """Expand files and folders into source items; missing paths and unsupported files become results."""
    items: list[SourceItem] = []
    skipped: list[FileResult] = []
    seen: set[Path] = set()

    def add(file: Path) -> None:
        resolved = file.resolve()
        if resolved in seen:
            return
        seen.add(resolved)
        source = display_source(file)
        if file.suffix.lower() not in SUPPORTED_SUFFIXES:
            skipped.append(FileResult(source, FileStatus.SKIPPED, f"unsupported file type {file.suffix or '(none)'!r}"))
        else:
            items.append(SourceItem(source=source, path=file))

    for p in paths:
        if p.is_dir():
            for file in sorted(x for x in p.rglob("*") if x.is_file() and not x.name.startswith(".")):
                add(file)
        elif p.is_file():
            add(p)
        else:
            skipped.append(FileResult(str(p), FileStatus.FAILED, "no such file or directory"))
    return items, skipped
