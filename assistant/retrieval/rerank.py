"""Cross-encoder reranking through sentence-transformers (any model name or local path)."""

from __future__ import annotations

from collections.abc import Sequence

from assistant.lazy_import import require


class CrossEncoderReranker:
    def __init__(self, model: str, device: str = "cpu", max_length: int = 512) -> None:
        st = require("sentence_transformers", extra="st", package="sentence-transformers")
        self._model = st.CrossEncoder(model, device=device, max_length=max_length)

    def score(self, question: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        scores = self._model.predict([(question, p) for p in passages], convert_to_numpy=True)
        return [float(s) for s in scores.reshape(-1)]
