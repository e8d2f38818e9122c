"""What kind of text a document is: press release, progress report, project page or other."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from core.models import DocType

# Only the beginning of a text names its kind ("Pressemitteilung Nr. 12/2024"); further down such a
# word is usually a mention ("laut Jahresbericht ...").
HEAD_CHARS = 400

_PRESS = re.compile(
    r"\b(?:Presse(?:mitteilung|meldung|information|erklärung)|Medien(?:mitteilung|information)|press release)",
    re.IGNORECASE,
)
_REPORT = re.compile(
    r"(?:Fortschritts|Sachstands|Jahres|Zwischen|Tätigkeits|Status)bericht|progress report|annual report",
    re.IGNORECASE,
)
_PROJECT_TITLE = re.compile(r"\bProje[ck]t(?:steckbrief|beschreibung|skizze|profil|e?\b|:)", re.IGNORECASE)
_PRESS_PATH = re.compile(r"(?:^|[/_.-])press")
_PROJECT_PATH = re.compile(r"(?:^|[/_.-])proje[ck]t")


def _path_of(source: str) -> str:
    """The URL path of a web source; the file name of a local one (its folders say nothing)."""
    parts = urlsplit(source)
    if parts.scheme in ("http", "https"):
        return parts.path.lower()
    return source.replace("\\", "/").rsplit("/", 1)[-1].lower()


def classify_doc_type(title: str, text: str, source: str, media_type: str) -> DocType:
    """Classify by the words of the title and the text's beginning, then by the source's path.

    The title and head of the text decide first (press-release markers before report markers, as a
    press release may announce a report); then "press" in the path; then project pages ("Projekt",
    "Projektsteckbrief" in the title, "projekt"/"project" in the path). ``media_type`` is part of the
    signature so that rules per format can be added without touching every caller.
    """
    del media_type  # no rule depends on the format yet
    head = f"{title}\n{text[:HEAD_CHARS]}"
    path = _path_of(source)
    if _PRESS.search(head):
        return DocType.PRESS_RELEASE
    if _REPORT.search(head):
        return DocType.PROGRESS_REPORT
    if _PRESS_PATH.search(path):
        return DocType.PRESS_RELEASE
    if _PROJECT_TITLE.search(title) or _PROJECT_PATH.search(path):
        return DocType.PROJECT_PAGE
    return DocType.OTHER
