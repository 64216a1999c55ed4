"""The best passage with its neighbours: the chunks just after and before it in the same
article or section, joined into one passage.

A chunk ends where the chunker's size limit fell, not where the rule does: the best chunk
often holds the question's words while the figure or condition that answers it sits in the
next chunk of the same paragraph ("…fermo restando il limite di contributo massimo per
singolo progetto." / "L'agevolazione consiste in un contributo … fino ad un massimo di
€ 1.000.000,00"). A model given only the first chunk answers from it and cites it.
"""

from __future__ import annotations

from collections.abc import Callable

from assistant.schema import Hit

SPARE_HITS = 2  # retrieved beyond the passages wanted: neighbours absorbed leave places
SECTION_SEPARATOR = " › "


def same_anchor(row: dict, best: dict) -> bool:
    """The same article or section: same document, same heading title and the same first
    label (`Art. 65`, `Allegato 09`); tables and records stand alone."""
    if row["kind"] != "text" or best["kind"] != "text" or row["doc_id"] != best["doc_id"]:
        return False
    top = best["section"].split(SECTION_SEPARATOR)[0]
    return (
        row["section_title"] == best["section_title"]
        and row["section"].split(SECTION_SEPARATOR)[0] == top
    )


def merged_section(first: str, last: str) -> str:
    """`Art. 65 › 1-2` for chunks labelled `Art. 65 › 1 › a)-b)` … `Art. 65 › 1-2`."""
    if first == last:
        return first
    a, b = first.split(SECTION_SEPARATOR), last.split(SECTION_SEPARATOR)
    prefix = []
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        prefix.append(x)
    depth = len(prefix)
    start = a[depth].split("-")[0] if len(a) > depth else ""
    end = b[depth].split("-")[-1] if len(b) > depth else ""
    tail = start if not end or start == end else f"{start}-{end}" if start else end
    return SECTION_SEPARATOR.join([*prefix, tail] if tail else prefix)


def widen(hit: Hit, around: list[dict], max_tokens: int, count: Callable[[str], int]) -> Hit:
    """`hit` joined with the chunks of `around` (its document's rows in reading order) that
    follow and precede it in the same article or section, the next one first, while the
    whole stays within `max_tokens`."""
    position = next((i for i, r in enumerate(around) if r["chunk_id"] == hit.chunk_id), None)
    if position is None:
        return hit
    best = around[position]
    start, end = position, position
    tokens = count(hit.text)
    # next before previous: a rule's figures and conditions follow the words that name it
    for step in (1, -1):
        j = (end if step > 0 else start) + step
        while 0 <= j < len(around) and same_anchor(around[j], best):
            cost = count(around[j]["text"])
            if tokens + cost > max_tokens:
                break
            tokens += cost
            start, end = min(start, j), max(end, j)
            j += step
    if (start, end) == (position, position):
        return hit
    rows = around[start : end + 1]
    pages = [p for r in rows for p in (r["page"], r["page_end"]) if p is not None]
    return hit.model_copy(
        update={
            "text": "\n".join(r["text"].strip() for r in rows),
            "section": merged_section(rows[0]["section"], rows[-1]["section"]),
            "page": min(pages) if pages else hit.page,
            "page_end": max(pages) if pages else hit.page_end,
            "page_label": rows[0]["page_label"],
            "metadata": {**hit.metadata, "context_chunks": ",".join(r["chunk_id"] for r in rows)},
        }
    )


def widen_best_hit(
    hits: list[Hit], catalog, max_tokens: int, count: Callable[[str], int], limit: int
) -> list[Hit]:
    """The hits with the best one widened, the hits it absorbed dropped, at most `limit`."""
    if not hits or max_tokens <= 0:
        return hits[:limit]
    best = widen(hits[0], catalog.chunks_around(hits[0].chunk_id, span=2), max_tokens, count)
    absorbed = set(str(best.metadata.get("context_chunks", "")).split(","))
    return [best, *(h for h in hits[1:] if h.chunk_id not in absorbed)][:limit]
