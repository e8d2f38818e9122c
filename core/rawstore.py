"""Raw bytes kept content-addressed (``<data>/raw/ab/abcdef...``), so re-parsing after a parser
improvement (``foerdersuche reindex``) needs no re-fetch, and the API can serve the original file."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from core.errors import NotFound

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class RawStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):  # never let an id become a path outside the store
            raise NotFound(f"no raw file {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        path = self._path(sha)
        if path.exists():
            return sha
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)  # atomic: a reader never sees a half-written file
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha

    def path_of(self, sha256: str) -> Path:
        """The file holding these bytes (NotFound if absent)."""
        path = self._path(sha256)
        if not path.is_file():
            raise NotFound(f"no raw file {sha256}")
        return path

    def get(self, sha256: str) -> bytes:
        path = self._path(sha256)
        if not path.is_file():
            raise NotFound(f"no raw file {sha256}")
        return path.read_bytes()

    def has(self, sha256: str) -> bool:
        try:
            return self._path(sha256).is_file()
        except NotFound:
            return False
