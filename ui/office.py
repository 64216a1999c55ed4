"""The logged-in user in the web page: what they may read (the assistant scoped to their
workspaces) and write (chats, draft versions, comments), and the Documents and Admin tabs.

Access rules live in the library (assistant.office): this module only asks it, with the
username Gradio's login put on each request.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from assistant.core import EuroAssist
from assistant.office.store import OfficeStore
from ui.texts import tr

SHARED = "shared"


class WebOffice:
    def __init__(self, assistant: EuroAssist, store: OfficeStore | None) -> None:
        self.assistant = assistant
        self.store = store  # None: no accounts (a library user's own app, tests of the chat)

    # -- who is asking ---------------------------------------------------------------
    def user(self, request: gr.Request | None):
        if self.store is None:
            return None
        username = getattr(request, "username", None)
        user = self.store.get_user(username) if username else None
        if user is None or not user.active:
            raise gr.Error("Sessione non valida: accedi di nuovo.")
        return user

    def scope(self, request: gr.Request | None) -> EuroAssist:
        """The assistant reading only the workspaces this user may read."""
        if self.store is None:
            return self.assistant
        return self.assistant.for_workspaces(self.store.readable_workspaces(self.user(request)))

    def readable(self, request) -> list[str]:
        if self.store is None:
            return [SHARED]
        return sorted(self.store.readable_workspaces(self.user(request)))

    def writable(self, request) -> list[str]:
        if self.store is None:
            return [SHARED]
        return sorted(self.store.writable_workspaces(self.user(request)))

    def require_write(self, request, workspace: str) -> None:
        if workspace not in self.writable(request):
            raise gr.Error(f"Non puoi scrivere nello spazio di lavoro «{workspace}».")

    def is_admin(self, request) -> bool:
        return self.store is None or self.user(request).role == "admin"

    # -- saved work --------------------------------------------------------------------
    def save_exchange(self, request, workspace: str, chat_id, question: str, answer) -> int | None:
        """Keep a question and its answer in the workspace's chats (when the user may write
        there); returns the chat id."""
        if self.store is None or workspace not in self.writable(request):
            return None
        user = self.user(request)
        if not chat_id:
            chat_id = self.store.create_chat(user, workspace, question[:120]).id
        sources = [
            {
                "number": p.number,
                "source": p.hit.source,
                "section": p.hit.section,
                "page": p.hit.page,
            }
            for p in answer.cited_passages()
        ]
        self.store.add_message(user, chat_id, "user", question)
        self.store.add_message(user, chat_id, "assistant", answer.text, sources)
        return chat_id

    def save_eligibility(self, request, workspace: str, call_id: str, verdict) -> str:
        if self.store is None or workspace not in self.writable(request):
            return ""
        self.store.save_eligibility(
            self.user(request),
            workspace,
            call_id,
            verdict.verdict,
            verdict.model_dump(mode="json"),
            verdict.project,
        )
        return f"  \n<sub>Risultato salvato nello spazio «{workspace}».</sub>"

    def save_skeletons(self, request, workspace: str, call_id: str, results) -> str:
        if self.store is None or workspace not in self.writable(request):
            return ""
        files = [
            {"slug": r.slug, "title": r.title, "verdict": r.verdict, "files": r.files}
            for r in results
            if r.status != "failed"
        ]
        self.store.save_skeleton_run(self.user(request), workspace, call_id, files)
        return f"\n\n<sub>Schede registrate nello spazio «{workspace}».</sub>"

    def chat_choices(self, request, workspace: str) -> list[tuple[str, int]]:
        """The workspace's saved chats, most recent first, as dropdown choices."""
        if self.store is None or workspace not in self.readable(request):
            return []
        chats = self.store.list_chats(self.user(request), workspace)
        return [
            (f"{c.title or '…'} — {c.user.username}, {c.updated_at:%d/%m %H:%M}", c.id)
            for c in chats[:50]
        ]

    def reopen_chat(self, request, chat_id) -> tuple[list[dict], int | None]:
        """A saved chat as chat messages, and the chat to continue (only its owner's)."""
        if self.store is None or not chat_id:
            return [], None
        user = self.user(request)
        try:
            chat = self.store.get_chat(user, int(chat_id))
        except (PermissionError, LookupError) as error:
            raise gr.Error(str(error)) from error
        messages = []
        for message in chat.messages:
            content = message.content
            if message.sources:
                cited = "; ".join(
                    f"[{s.get('number')}] {Path(str(s.get('source', ''))).name}"
                    + (f", {s['section']}" if s.get("section") else "")
                    + (f", p. {s['page']}" if s.get("page") else "")
                    for s in message.sources
                )
                content += f"\n\n<sub>{cited}</sub>"
            messages.append({"role": message.role, "content": content})
        continue_id = chat.id if chat.user_id == user.id else None
        return messages, continue_id

    def _draft_id(self, request, workspace: str, call_id: str, section_id: str, create: bool):
        user = self.user(request)
        for draft in self.store.list_drafts(user, workspace, call_id):
            if draft.section_id == section_id:
                return draft.id
        if not create:
            return None
        return self.store.create_draft(user, workspace, call_id, section_id).id

    def save_draft(self, request, workspace, call_id, section_id, text, note) -> str:
        if self.store is None:
            return "Account non attivi: la bozza non è salvata."
        if not text or not text.strip():
            raise gr.Error("La bozza è vuota.")
        self.require_write(request, workspace)
        draft_id = self._draft_id(request, workspace, call_id, section_id, create=True)
        number = self.store.add_version(self.user(request), draft_id, text, note or "")
        return f"Versione {number} salvata nello spazio «{workspace}»."

    def comment_draft(self, request, workspace, call_id, section_id, text) -> str:
        if self.store is None:
            return ""
        self.require_write(request, workspace)
        draft_id = self._draft_id(request, workspace, call_id, section_id, create=False)
        if draft_id is None:
            raise gr.Error("Salva prima una versione della bozza.")
        try:
            self.store.add_comment(self.user(request), draft_id, text)
        except ValueError as error:
            raise gr.Error(str(error)) from error
        return "Commento salvato."

    def draft_history(self, request, workspace, call_id, section_id) -> str:
        if self.store is None or workspace not in self.readable(request):
            return ""
        draft_id = self._draft_id(request, workspace, call_id, section_id, create=False)
        if draft_id is None:
            return "Nessuna versione salvata."
        user = self.user(request)
        lines = ["**Versioni**"]
        for v in self.store.versions(user, draft_id):
            note = f" — {v.note}" if v.note else ""
            lines.append(
                f"- v{v.number} di {v.author.username}, {v.created_at:%d/%m/%Y %H:%M}, "
                f"{len(v.text)} caratteri{note}"
            )
        comments = self.store.comments(user, draft_id)
        if comments:
            lines.append("\n**Commenti**")
            lines += [
                f"- {c.author.username} ({c.created_at:%d/%m/%Y %H:%M}): {c.text}" for c in comments
            ]
        return "\n".join(lines)


def build_documents_tab(office: WebOffice, workspace: gr.Dropdown, add_files, upload_types) -> None:
    """The documents the user may read; upload into the chosen workspace, removal."""
    with gr.Tab(tr("Documenti")):
        with gr.Row():
            upload = gr.File(
                label=tr("Aggiungi documenti allo spazio di lavoro scelto"),
                file_count="multiple",
                file_types=upload_types,
            )
            with gr.Column():
                add = gr.Button(tr("Indicizza"), variant="primary")
                upload_log = gr.Markdown()
        refresh = gr.Button(tr("Aggiorna l'elenco"))
        table = gr.Dataframe(
            headers=["id", "file", "tipo", "spazio", "lingua", "pagine", "passaggi"],
            interactive=False,
            wrap=True,
        )
        with gr.Row():
            remove_id = gr.Textbox(label=tr("id del documento da rimuovere"))
            remove = gr.Button(tr("Rimuovi"), variant="stop")
        remove_log = gr.Markdown()

        def listing(request: gr.Request):
            documents = office.scope(request).documents()
            return [
                [
                    d.doc_id,
                    Path(d.source).name,
                    d.doc_type,
                    d.metadata.get("workspace", SHARED),
                    d.language,
                    d.page_count,
                    d.chunk_count,
                ]
                for d in documents
            ]

        def remove_document(doc_id: str, request: gr.Request):
            scoped = office.scope(request)
            matches = [d for d in scoped.documents() if d.doc_id == doc_id.strip()]
            if not matches:
                raise gr.Error(f"Nessun documento {doc_id!r} tra quelli che puoi vedere.")
            office.require_write(request, matches[0].metadata.get("workspace", SHARED))
            scoped.remove(matches)
            return f"Rimosso {Path(matches[0].source).name}.", listing(request)

        refresh.click(listing, None, table, api_name="documents")
        add.click(add_files, [upload, workspace], upload_log, api_visibility="private").then(
            listing, None, table, api_visibility="private"
        )
        remove.click(remove_document, remove_id, [remove_log, table], api_name="remove_document")


def build_admin_tab(office: WebOffice) -> gr.Tab | None:
    """Users and grants; shown to admins only, and every handler checks the role."""
    if office.store is None:
        return None
    store = office.store
    with gr.Tab(tr("Amministrazione"), visible=False) as tab:
        gr.Markdown(tr("Utenti e spazi di lavoro (solo per gli amministratori)."))
        users = gr.Dataframe(
            headers=["utente", "ruolo", "attivo", "spazi (lettura/scrittura)"], interactive=False
        )
        show = gr.Button(tr("Mostra gli utenti"))
        with gr.Row():
            username = gr.Textbox(label=tr("Utente"))
            password = gr.Textbox(label=tr("Password iniziale"), type="password")
            role = gr.Dropdown(
                ["officer", "consultant", "admin"], value="officer", label=tr("Ruolo")
            )
        with gr.Row():
            grant_ws = gr.Dropdown(
                [w.id for w in store.list_workspaces()], label=tr("Spazio di lavoro")
            )
            can_write = gr.Checkbox(label=tr("può scrivere"), value=True)
        with gr.Row():
            add = gr.Button(tr("Crea utente"), variant="primary")
            grant = gr.Button(tr("Concedi lo spazio"))
            revoke = gr.Button(tr("Revoca lo spazio"))
        log = gr.Markdown()

        def require_admin(request: gr.Request) -> None:
            if not office.is_admin(request):
                raise gr.Error("Solo gli amministratori gestiscono gli utenti.")

        def rows(request: gr.Request):
            require_admin(request)
            out = []
            for u in store.list_users():
                spaces = ", ".join(
                    f"{ws}{' (r/w)' if ws in store.writable_workspaces(u) else ' (r)'}"
                    for ws in sorted(store.readable_workspaces(u))
                )
                out.append([u.username, u.role, "sì" if u.active else "no", spaces])
            return out

        def add_user(name: str, secret: str, user_role: str, request: gr.Request):
            require_admin(request)
            try:
                store.add_user(name, secret, user_role)
            except (ValueError, LookupError) as error:
                raise gr.Error(str(error)) from error
            return f"Creato l'utente {name} ({user_role}).", rows(request)

        def grant_space(name: str, ws: str, write: bool, request: gr.Request):
            require_admin(request)
            try:
                store.grant(name, ws, write)
            except (ValueError, LookupError) as error:
                raise gr.Error(str(error)) from error
            return f"{name}: {ws} {'lettura e scrittura' if write else 'lettura'}.", rows(request)

        def revoke_space(name: str, ws: str, request: gr.Request):
            require_admin(request)
            try:
                store.revoke(name, ws)
            except (ValueError, LookupError) as error:
                raise gr.Error(str(error)) from error
            return f"{name}: revocato {ws}.", rows(request)

        show.click(rows, None, users, api_name="admin_users")
        add.click(add_user, [username, password, role], [log, users], api_name="admin_add_user")
        grant.click(
            grant_space, [username, grant_ws, can_write], [log, users], api_name="admin_grant"
        )
        revoke.click(revoke_space, [username, grant_ws], [log, users], api_name="admin_revoke")
    return tab
