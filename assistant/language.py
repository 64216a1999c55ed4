"""Language detection (offline, py3langid restricted to the languages of EU-funds work)."""

from __future__ import annotations

from functools import lru_cache

from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

LANGUAGES = ("it", "en", "fr", "de", "es")
UNDETERMINED = "und"


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def detect_language(text: str, min_confidence: float = 0.5) -> str:
    """ISO 639-1 code, or `und` when the text is too short or too mixed to tell."""
    sample = text[:4000]
    if sum(c.isalpha() for c in sample) < 12:
        return UNDETERMINED
    language, confidence = _identifier().classify(sample)
    return language if confidence >= min_confidence else UNDETERMINED


def detect_document_language(samples: list[str]) -> str:
    """Majority language over samples spread through a document."""
    votes: dict[str, int] = {}
    for sample in samples:
        language = detect_language(sample)
        if language != UNDETERMINED:
            votes[language] = votes.get(language, 0) + len(sample)
    return max(votes, key=votes.__getitem__) if votes else UNDETERMINED
