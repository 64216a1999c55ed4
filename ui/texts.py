"""The page's words: Italian by default, English with EUROASSIST_UI_LANGUAGE=en.

Labels are written in Italian in the code and looked up here; a label without an English
entry stays Italian rather than failing.
"""

from __future__ import annotations

ENGLISH = {
    # header and chat
    "euroassist — fondi UE per i comuni": "euroassist — EU funds for municipalities",
    "Domande su regolamenti, bandi e progetti: ogni risposta cita documento, articolo e pagina.": "Questions on regulations, calls and projects: every answer cites document, article and page.",
    "Domanda": "Question",
    "Es. Per quanti anni va garantita la stabilità di un'operazione FESR?": "E.g. For how many years must an ERDF operation be kept?",
    "Chiedi": "Ask",
    "Nuova conversazione": "New conversation",
    "Filtri": "Filters",
    "Tipo di documento": "Document type",
    "Programma": "Programme",
    "Aggiungi documenti all'indice (PDF, DOCX, CSV, …)": "Add documents to the index (PDF, DOCX, CSV, …)",
    "Indicizza": "Index",
    "Esporta la risposta (Markdown)": "Export the answer (Markdown)",
    "Commento (facoltativo), da scrivere prima di votare la risposta": "Comment (optional), written before rating the answer",
    "Esporta i giudizi (JSONL)": "Export the ratings (JSONL)",
    "Fonti": "Sources",
    "Risposta di": "Answered by",
    "Domanda riformulata": "Rewritten question",
    "Spazio di lavoro": "Workspace",
    "Conversazioni salvate": "Saved conversations",
    "Riapri": "Reopen",
    # tabs
    "Chat": "Chat",
    "Progetto": "Project",
    "Bandi": "Calls",
    "Ammissibilità": "Eligibility",
    "Bozza": "Draft",
    "Schede progetto": "Proposal skeletons",
    "Progetti passati": "Past projects",
    "Documenti": "Documents",
    "Amministrazione": "Administration",
    # buttons
    "Aggiorna l'elenco": "Refresh the list",
    "Azzera i filtri": "Clear the filters",
    "Commenta": "Comment",
    "Concedi lo spazio": "Grant the workspace",
    "Crea utente": "Create user",
    "Esporta la tabella (CSV)": "Export the table (CSV)",
    "Genera le schede": "Generate the skeletons",
    "Mostra gli utenti": "Show the users",
    "Mostra i progetti": "Show the projects",
    "Quali bandi per il mio progetto?": "Which calls for my project?",
    "Revoca lo spazio": "Revoke the workspace",
    "Rimuovi": "Remove",
    "Salva versione": "Save version",
    "Scrivi la bozza": "Write the draft",
    "Verifica": "Check",
    "Scarica il risultato (JSON)": "Download the result (JSON)",
    "Scarica le schede (ZIP)": "Download the skeletons (ZIP)",
    # labels
    "Aggiungi documenti allo spazio di lavoro scelto": "Add documents to the chosen workspace",
    "Bando": "Call",
    "Carica un profilo (.yaml)": "Load a profile (.yaml)",
    "Commento per i colleghi": "Comment for colleagues",
    "File esportato": "Exported file",
    "Idee progettuali (CSV)": "Project ideas (CSV)",
    "Lingua": "Language",
    "Nota sulla versione (facoltativa)": "Note on the version (optional)",
    "Password iniziale": "Initial password",
    "Profilo": "Profile",
    "Progetti": "Projects",
    "Ruolo": "Role",
    "Sezione": "Section",
    "Sezioni da scrivere (numeri separati da virgola; vuoto: tutte)": "Sections to draft (comma-separated numbers; empty: all)",
    "Utente": "User",
    "id del documento da rimuovere": "id of the document to remove",
    "può scrivere": "can write",
    "Utenti e spazi di lavoro (solo per gli amministratori).": "Users and workspaces (administrators only).",
    "Il profilo del progetto (YAML): proponente, partner, sede, attività, voci di costo, "
    "date, altri finanziamenti. Lo usano le schede Bandi, Ammissibilità e Bozza.": "The project profile (YAML): applicant, partners, site, activities, cost lines, dates, other funding. The Calls, Eligibility and Draft tabs use it.",
    "Una scheda (.docx e .md) per ogni idea di un file CSV (colonne: vedi "
    "`corpus/ideas/README.md`): verifica di ammissibilità, sezioni con limiti e bozza, "
    "progetti simili, piano finanziario, indicatori.": "One skeleton (.docx and .md) per idea of a CSV file (columns: see `corpus/ideas/README.md`): eligibility check, sections with limits and draft, similar past projects, budget, indicators.",
}
_language = {"current": "it"}


def use(language: str) -> None:
    if language not in ("it", "en"):
        raise ValueError(f"UI language {language!r}: use it or en")
    _language["current"] = language


def tr(text: str) -> str:
    return ENGLISH.get(text, text) if _language["current"] == "en" else text
