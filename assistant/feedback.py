"""Thumbs up/down on answers, with the question, the answer and its sources, to grow the
evaluation set. Stored through SQLAlchemy (SQLite by default, any database by URL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cached_property

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    select,
)

metadata = MetaData()
feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("sources", JSON, nullable=False),
    Column("rating", Integer, nullable=False),  # +1 or -1
    Column("comment", Text, nullable=False, default=""),
    Column("provider", String(40), nullable=False, default=""),
    Column("model", String(200), nullable=False, default=""),
    Column("language", String(8), nullable=False, default=""),
)


class FeedbackStore:
    def __init__(self, url: str) -> None:
        self.url = url

    @cached_property
    def engine(self):
        engine = create_engine(self.url, future=True)
        metadata.create_all(engine)
        return engine

    def add(self, answer, rating: int, comment: str = "") -> int:
        """Store a rating of a GroundedAnswer, with the passages it cited."""
        if rating not in (1, -1):
            raise ValueError("rating is +1 or -1")
        sources = [
            {
                "number": p.number,
                "source": p.hit.source,
                "title": p.hit.title,
                "section": p.hit.section,
                "page": p.hit.page,
                "text": p.hit.text,
            }
            for p in (answer.cited_passages() or answer.passages)
        ]
        with self.engine.begin() as connection:
            result = connection.execute(
                feedback.insert().values(
                    created_at=datetime.now(UTC),
                    question=answer.question,
                    answer=answer.text,
                    sources=sources,
                    rating=rating,
                    comment=comment.strip()[:4000],
                    provider=answer.provider,
                    model=answer.model,
                    language=answer.language,
                )
            )
            return int(result.inserted_primary_key[0])

    def all(self) -> list[dict]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(feedback).order_by(feedback.c.id)).mappings().all()
        return [dict(r) for r in rows]

    def export_jsonl(self) -> str:
        """One JSON object per rating, in the shape of the evaluation questions where it fits
        (question, gold source and evidence from the cited passage of a liked answer)."""
        lines = []
        for row in self.all():
            first = row["sources"][0] if row["sources"] else {}
            lines.append(
                json.dumps(
                    {
                        "id": f"F{row['id']:04d}",
                        "lang": row["language"],
                        "question": row["question"],
                        "answer": row["answer"],
                        "rating": row["rating"],
                        "comment": row["comment"],
                        "source": first.get("source", ""),
                        "page": first.get("page"),
                        "evidence": first.get("text", "") if row["rating"] > 0 else "",
                        "sources": row["sources"],
                        "provider": row["provider"],
                        "model": row["model"],
                        "created_at": row["created_at"].isoformat() if row["created_at"] else None,
                    },
                    ensure_ascii=False,
                )
            )
        return "\n".join(lines) + ("\n" if lines else "")
