"""Language identification of extracted text (langdetect, made deterministic)."""

from __future__ import annotations

import re

# Enough text for a stable guess; langdetect's cost grows with the input.
SAMPLE_CHARS = 5000
MIN_WORDS = 6

_WORD = re.compile(r"[^\W\d_]{2,}")


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the text's language ("de", "en", ...), or None when unsure.

    None for texts with fewer than ``MIN_WORDS`` words of letters, and when langdetect finds no
    features. langdetect samples randomly; its seed is fixed so the same text always gets the same
    answer.
    """
    sample = text[:SAMPLE_CHARS]
    if len(_WORD.findall(sample)) < MIN_WORDS:
        return None
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        code: str = detect(sample)
    except LangDetectException:
        return None
    return code
