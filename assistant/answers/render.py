"""Extractive answers as terminal text or Markdown."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from assistant.answers.extractive import ExtractiveAnswer

LABELS = {
    "it": {"sources": "Fonti", "answered_by": "Risposta di"},
    "en": {"sources": "Sources", "answered_by": "Answered by"},
}
_NOT_FOUND = {
    "it": "Nessun passaggio dei documenti indicizzati risponde alla domanda.",
    "en": "No passage of the indexed documents answers the question.",
}
_KEY = {"it": "In sintesi, dai documenti", "en": "In short, from the documents"}
_SOURCES = {"it": "Fonti", "en": "Sources"}


def _lang(answer: ExtractiveAnswer) -> str:
    return "it" if answer.language not in _KEY else answer.language


def render_extractive_terminal(answer: ExtractiveAnswer, console: Console) -> None:
    lang = _lang(answer)
    if not answer.passages:
        console.print(_NOT_FOUND[lang])
        return
    console.print(f"[bold]{_KEY[lang]}:[/bold]")
    for sentence in answer.key_sentences:
        console.print(
            f" • {escape(sentence.text)} [cyan][{sentence.passage}][/cyan]", highlight=False
        )
    console.print()
    console.print(f"[bold]{_SOURCES[lang]}:[/bold]")
    for passage in answer.passages:
        console.print(
            f"[cyan][{passage.number}][/cyan] [bold]{escape(passage.hit.citation())}[/bold]"
        )
        text = escape(passage.hit.text)
        for span in sorted(passage.highlights, key=lambda s: -s.start):
            # Highlight on the escaped text: find the sentence again after escaping.
            sentence = escape(passage.hit.text[span.start : span.end])
            text = text.replace(sentence, f"[reverse]{sentence}[/reverse]", 1)
        console.print(text, highlight=False)
        console.print()


def render_extractive_markdown(answer: ExtractiveAnswer) -> str:
    lang = _lang(answer)
    if not answer.passages:
        return _NOT_FOUND[lang]
    lines = [f"**{_KEY[lang]}:**", ""]
    lines += [f"- {s.text} [{s.passage}]" for s in answer.key_sentences]
    lines += ["", f"**{_SOURCES[lang]}:**", ""]
    for passage in answer.passages:
        lines.append(f"[{passage.number}] *{passage.hit.citation()}*")
        lines.append("")
        lines.append("> " + passage.highlighted().replace("\n", "\n> "))
        lines.append("")
    return "\n".join(lines)
