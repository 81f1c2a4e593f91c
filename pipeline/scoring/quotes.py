"""The quote style's evidence (``llm_evidence: quotes``): a quote the model copied is kept only
if it is long enough to prove something and is found, fuzzily, in the transcript."""

from __future__ import annotations

import re

from rapidfuzz import fuzz

EVIDENCE_MIN_SIMILARITY = 85  # rapidfuzz partial_ratio, 0-100, of the quote against the transcript
EVIDENCE_MIN_CHARS = 6  # a shorter "quote" ("no", "Sam") matches anything and proves nothing


def _normalise(text: str) -> str:
    text = re.sub(r"\[\d+(?::\d{2}){1,2}\]", " ", text)
    text = re.sub(r"\b(AGENT|CUSTOMER|SPEAKER)\s*:", " ", text)
    text = re.sub(r"[^\w\s']", " ", text.lower())
    return " ".join(text.split())


def verify_evidence(quote: str, transcript: str) -> tuple[str | None, bool | None]:
    """Keep a quote only if it is long enough to prove something and (fuzzily) occurs in the
    transcript: (quote or None, verified). An empty quote is (None, None)."""
    needle = _normalise(quote)
    if not needle:
        return None, None
    if len(needle) >= EVIDENCE_MIN_CHARS and fuzz.partial_ratio(needle, _normalise(transcript)) >= EVIDENCE_MIN_SIMILARITY:
        return quote.strip(), True
    return None, False
