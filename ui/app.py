"""The web chat (Gradio). It calls the library (`assistant`) only: no index, parser or
model code lives here."""

from __future__ import annotations

import argparse
import asyncio
import html
import tempfile
import time
from pathlib import Path

import gradio as gr

from assistant.answers.grounded import GroundedAnswer, Turn
from assistant.core import EuroAssist
from assistant.feedback import FeedbackStore
from assistant.office.store import OfficeStore
from assistant.schema import DOC_TYPES, SearchFilters
from ui.office import WebOffice, build_admin_tab, build_documents_tab
from ui.proposals import build_proposal_tabs
from ui.server import LoginLimiter, security_middleware
from ui.territory import build_territory_tab
from ui.texts import tr
from ui.texts import use as use_language

UPLOAD_TYPES = [".pdf", ".docx", ".csv", ".md", ".txt", ".html"]
TEXTS = {
    "title": "euroassist — fondi UE per i comuni",
    "intro": "Domande su regolamenti, bandi e progetti: ogni risposta cita documento, articolo e pagina.",
    "question": "Domanda",
    "placeholder": "Es. Per quanti anni va garantita la stabilità di un'operazione FESR?",
    "send": "Chiedi",
    "clear": "Nuova conversazione",
    "filters": "Filtri",
    "doc_type": "Tipo di documento",
    "programme": "Programma",
    "upload": "Aggiungi documenti all'indice (PDF, DOCX, CSV, …)",
    "add": "Indicizza",
    "export": "Esporta la risposta (Markdown)",
    "comment": "Commento (facoltativo), da scrivere prima di votare la risposta",
    "feedback_export": "Esporta i giudizi (JSONL)",
    "sources": "Fonti",
    "answered_by": "Risposta di",
    "rewritten": "Domanda riformulata",
    "workspace": "Spazio di lavoro",
}


def source_title(number: int, hit) -> str:
    return f"[{number}] {hit.citation()}"


def answer_messages(answer: GroundedAnswer) -> list[dict]:
    """The answer, then one collapsible message per source (expands to the passage)."""
    passages = answer.cited_passages() or (answer.passages[:3] if not answer.found else [])
    footer = f"{tr(TEXTS['answered_by'])}: {answer.provider} {answer.model}".strip()
    if answer.ttft_s is not None:
        footer += f" · primo token dopo {answer.ttft_s:.1f} s"
    messages = [
        {"role": "assistant", "content": f"{answer.text}\n\n<sub>{html.escape(footer)}</sub>"}
    ]
    for passage in passages:
        messages.append(
            {
                "role": "assistant",
                "content": passage.hit.text,
                "metadata": {"title": source_title(passage.number, passage.hit), "status": "done"},
            }
        )
    return messages


def answer_markdown(answer: GroundedAnswer) -> str:
    lines = [f"# {answer.question}", "", answer.text, "", f"## {tr(TEXTS['sources'])}", ""]
    for passage in answer.cited_passages() or answer.passages:
        lines += [
            f"[{passage.number}] {passage.hit.citation()}",
            "",
            "> " + passage.hit.text.replace("\n", "\n> "),
            "",
        ]
    lines.append(f"*{tr(TEXTS['answered_by'])}: {answer.provider} {answer.model}*")
    return "\n".join(lines)


def build_app(assistant: EuroAssist, store: OfficeStore | None = None) -> gr.Blocks:
    """The web app; with an office store, every handler acts as the logged-in user."""
    use_language(assistant.settings.ui_language)
    texts = {key: tr(value) for key, value in TEXTS.items()}
    office = WebOffice(assistant, store)
    feedback = FeedbackStore(assistant.settings.database)
    export_dir = Path(tempfile.mkdtemp(prefix="euroassist-export-"))
    model = assistant.chat_model
    model_label = (
        "estrattivo (nessun LLM)" if model is None else f"{model.provider} · {model.model}"
    )

    with gr.Blocks(title="euroassist") as app:
        with gr.Row():
            gr.Markdown(
                f"## {texts['title']}\n{texts['intro']}  \n<sub>Modello: {model_label}</sub>"
            )
            with gr.Column(scale=0, min_width=260):
                # the choices are the user's, set at page load; the server checks every use
                workspace = gr.Dropdown(
                    ["shared"],
                    value="shared",
                    label=texts["workspace"],
                    elem_id="workspace",
                    allow_custom_value=True,
                )
                who = gr.Markdown(elem_id="who")
        chat_id = gr.State(None)
        with gr.Tab(tr("Chat")):
            answers = gr.State([])  # GroundedAnswer per answer message, for feedback and export
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        elem_id="chat",
                        height=560,
                        buttons=["copy", "copy_all"],
                        feedback_options=("Like", "Dislike"),
                        label=tr("Chat"),
                    )
                    question = gr.Textbox(
                        label=texts["question"],
                        placeholder=texts["placeholder"],
                        elem_id="question",
                        lines=2,
                    )
                    with gr.Row():
                        send = gr.Button(texts["send"], variant="primary", elem_id="send")
                        clear = gr.Button(texts["clear"])
                    comment = gr.Textbox(label=texts["comment"], lines=1)
                    with gr.Row():
                        export = gr.DownloadButton(texts["export"], visible=False)
                        feedback_button = gr.Button(texts["feedback_export"])
                        feedback_file = gr.File(visible=False, label="feedback.jsonl")
                with gr.Column(scale=1):
                    gr.Markdown(f"### {texts['filters']}")
                    doc_type = gr.CheckboxGroup(list(DOC_TYPES), label=texts["doc_type"])
                    programme = gr.Dropdown(
                        assistant.programmes(),
                        multiselect=True,
                        label=texts["programme"],
                        allow_custom_value=True,
                    )
                    upload = gr.File(
                        label=texts["upload"], file_count="multiple", file_types=UPLOAD_TYPES
                    )
                    add = gr.Button(texts["add"])
                    upload_log = gr.Markdown(elem_id="upload-log")
                    # choices per user and workspace; the store checks every reopening
                    saved_chats = gr.Dropdown(
                        [],
                        label=tr("Conversazioni salvate"),
                        elem_id="saved-chats",
                        allow_custom_value=True,
                    )
                    reopen = gr.Button(tr("Riapri"))

        def respond(
            message: str,
            history: list,
            stored: list,
            types: list,
            programmes: list,
            space: str,
            current_chat,
            request: gr.Request,
        ):
            if not message or not message.strip():
                yield history, stored, gr.update(), current_chat
                return
            scoped = office.scope(request)
            filters = SearchFilters(doc_type=types or None, programme=programmes or None)
            turns = [Turn(a.question, a.text) for a in stored]
            history = [
                *history,
                {"role": "user", "content": message},
                {"role": "assistant", "content": ""},
            ]
            text = ""
            for event in scoped.answer_stream(
                message, turns, None if filters.is_empty() else filters
            ):
                if event.kind == "status":
                    history[-1]["content"] = f"*{texts['rewritten']}: {event.text}*\n\n"
                elif event.kind == "token":
                    text += event.text
                    history[-1]["content"] = text
                    yield history, stored, gr.update(), current_chat
                else:
                    answer = event.answer
                    history = history[:-1] + answer_messages(answer)
                    stored = [*stored, answer]
                    path = export_dir / f"risposta-{int(time.time() * 1000)}.md"
                    path.write_text(answer_markdown(answer), encoding="utf-8")
                    current_chat = office.save_exchange(
                        request, space, current_chat, message, answer
                    )
                    yield history, stored, gr.update(value=str(path), visible=True), current_chat

        def rate(history: list, stored: list, note: str, data: gr.LikeData):
            """A thumb on an answer message: find the answer it belongs to and store it."""
            answer_index = (
                sum(
                    1
                    for m in history[: data.index + 1]
                    if m["role"] == "assistant" and not (m.get("metadata") or {}).get("title")
                )
                - 1
            )
            if 0 <= answer_index < len(stored):
                liked = data.liked if isinstance(data.liked, bool) else data.liked == "Like"
                feedback.add(stored[answer_index], 1 if liked else -1, note or "")
                return ""
            return note

        def export_feedback():
            path = export_dir / "feedback.jsonl"
            path.write_text(feedback.export_jsonl(), encoding="utf-8")
            return gr.update(value=str(path), visible=True)

        def add_files(
            files,
            space: str,
            request: gr.Request,
            progress=gr.Progress(),  # noqa: B008 (Gradio injects it)
        ):
            if not files:
                return "Nessun file scelto."
            office.require_write(request, space)
            paths = [Path(f if isinstance(f, str) else f.name) for f in files]
            lines = []
            done = 0

            def on_result(result):
                nonlocal done
                done += 1
                progress(done / len(paths), desc=Path(result.path).name)
                name = Path(result.path).name
                if result.status == "failed":
                    lines.append(f"- ❌ **{name}**: {result.reason}")
                else:
                    lines.append(f"- ✅ **{name}**: {result.status}, {result.chunks} passaggi")

            progress(0, desc="indicizzazione")
            assistant.ingest(paths, on_result=on_result, workspace=space)
            return "\n".join(lines)

        def list_chats_after(space: str, request: gr.Request):
            return gr.update(choices=office.chat_choices(request, space))

        inputs = [question, chatbot, answers, doc_type, programme, workspace, chat_id]
        outputs = [chatbot, answers, export, chat_id]
        send.click(respond, inputs, outputs, api_name="ask").then(lambda: "", None, question).then(
            list_chats_after, workspace, saved_chats, api_visibility="private"
        )
        question.submit(respond, inputs, outputs, api_visibility="private").then(
            lambda: "", None, question
        )
        clear.click(
            lambda: ([], [], gr.update(visible=False), None),
            None,
            outputs,
            api_visibility="private",
        )
        chatbot.like(rate, [chatbot, answers, comment], comment)

        def list_chats(space: str, request: gr.Request):
            return gr.update(choices=office.chat_choices(request, space), value=None)

        def reopen_chat(chosen, request: gr.Request):
            messages, continue_id = office.reopen_chat(request, chosen)
            return messages, [], continue_id

        reopen.click(reopen_chat, saved_chats, [chatbot, answers, chat_id], api_name="reopen_chat")
        workspace.change(list_chats, workspace, saved_chats, api_name="saved_chats")
        feedback_button.click(export_feedback, None, feedback_file)
        add.click(add_files, [upload, workspace], upload_log, api_name="add_files")
        build_proposal_tabs(assistant, export_dir, office, workspace)
        build_territory_tab(assistant, export_dir, lambda request: set(office.readable(request)))
        build_documents_tab(office, workspace, add_files, UPLOAD_TYPES)
        admin_tab = build_admin_tab(office)

        def on_load(request: gr.Request):
            readable = office.readable(request)
            writable = office.writable(request)
            default = next(
                (w for w in writable if w != "shared"), readable[0] if readable else None
            )
            user = office.user(request)
            label = f"{user.username} · {user.role}" if user is not None else ""
            logout = " · [esci](/logout)" if user is not None else ""
            updates = [gr.update(choices=readable, value=default), f"<sub>{label}{logout}</sub>"]
            if admin_tab is not None:
                updates.append(gr.update(visible=office.is_admin(request)))
            return updates

        loaded = [workspace, who] + ([admin_tab] if admin_tab is not None else [])
        app.load(on_load, None, loaded, api_visibility="private")
        # a new workspace: a new conversation
        workspace.change(lambda: None, None, chat_id, api_visibility="private")
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="euroassist web chat")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    args = parser.parse_args(argv)
    assistant = EuroAssist()
    serve(assistant, args.host, args.port, store=OfficeStore(assistant.settings.database))


def serve(
    assistant: EuroAssist,
    host: str,
    port: int,
    block: bool = True,
    store: OfficeStore | None = None,
    limiter: LoginLimiter | None = None,
) -> gr.Blocks:
    """Start the web app; with block=False it runs in a thread and the app is returned.
    With an office store the page and every API endpoint need a login, and failed logins
    are limited per client address (`limiter`, else the settings' limit)."""
    app = build_app(assistant, store)
    app.queue(default_concurrency_limit=1)  # one local model: answers one at a time

    async def login(username: str, password: str) -> bool:
        # argon2 takes ~0.4 s: in a thread, or Gradio's async login route blocks every
        # request while it runs (20 users logging in at once waited over 10 s)
        if store is None:
            return False
        return await asyncio.to_thread(store.authenticate, username, password) is not None

    if store is None:
        limiter = None
    elif limiter is None:
        limiter = LoginLimiter(assistant.settings.login_failures_per_minute)
    app.launch(
        server_name=host,
        server_port=port,
        prevent_thread_lock=not block,
        show_error=True,
        max_file_size=f"{assistant.settings.max_file_mb}mb",
        auth=login if store is not None else None,
        auth_message="euroassist — accedi con il tuo utente dell'ufficio unico.",
        # security headers on every response, login attempts limited per address
        app_kwargs={"middleware": security_middleware(limiter)},
        ssr_mode=False,  # no Node front server: every request goes through the middleware
    )
    return app


if __name__ == "__main__":
    main()
