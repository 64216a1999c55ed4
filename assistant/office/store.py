"""Accounts, workspaces and saved work in one SQL database (SQLite or PostgreSQL by URL).

Every method that reads or writes saved work takes the acting user and checks the access
rules (assistant.office.access) here, so no caller (CLI, web page) can forget to. The actor
is read again from the database on each call: a role change, a revoked grant or a
deactivation applies at once, even to a User object a web session still holds.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from argon2 import PasswordHasher
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from assistant.office import access
from assistant.office.models import (
    MESSAGE_ROLES,
    ROLES,
    WORKSPACE_KINDS,
    Base,
    Chat,
    ChatMessage,
    Draft,
    DraftComment,
    DraftVersion,
    EligibilityResult,
    Membership,
    SkeletonRun,
    User,
    Workspace,
    utcnow,
)
from assistant.office.passwords import (
    DEFAULT_HASHER,
    MAX_LENGTH,
    check_strength,
    generate_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from assistant.office.workspaces import check_slug, default_workspaces

Actor = User | str  # a User (its id is used) or a username
Mode = Literal["read", "write"]
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive: "M.Rossi" and "m.rossi" are one account."""
    name = username.strip().lower()
    if not _USERNAME.match(name):
        raise ValueError(f"username {username!r}: 2-64 lowercase letters, digits, '.', '_' or '-'")
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"role {role!r}: use one of {', '.join(ROLES)}")
    return role


def _bounded(value: str, limit: int, what: str) -> str:
    if not value or len(value) > limit:
        raise ValueError(f"{what}: 1 to {limit} characters")
    return value


def _sqlite_foreign_keys(dbapi_connection, _record) -> None:
    # SQLite ignores foreign keys unless asked: same integrity as PostgreSQL.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class OfficeStore:
    def __init__(
        self,
        url: str,
        *,
        hasher: PasswordHasher | None = None,
        max_failures: int = 5,
        lockout: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.url = url
        self.hasher = hasher or DEFAULT_HASHER
        self.max_failures = max_failures
        self.lockout = lockout
        self.clock = clock  # replaceable, so tests can let a lockout expire
        self.engine = self._create_engine(url)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._dummy: str | None = None

    @staticmethod
    def _create_engine(url: str) -> Engine:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url)
            event.listen(engine, "connect", _sqlite_foreign_keys)
            return engine
        return create_engine(url, pool_pre_ping=True)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    # -- users ------------------------------------------------------------------------

    def add_user(
        self, username: str, password: str, role: str = "officer", display_name: str = ""
    ) -> User:
        name = normalize_username(username)
        _check_role(role)
        check_strength(password)
        user = User(
            username=name,
            display_name=display_name.strip()[:200],
            password_hash=hash_password(password, self.hasher),
            role=role,
            active=True,
            failed_logins=0,
            memberships=[],
        )
        try:
            with self._session() as session:
                if session.scalar(select(User.id).where(User.username == name)) is not None:
                    raise ValueError(f"user {name} exists")
                session.add(user)
        except IntegrityError as error:  # a concurrent add of the same name
            raise ValueError(f"user {name} exists") from error
        return user

    def get_user(self, username: str) -> User | None:
        with self._session() as session:
            return session.scalar(select(User).where(User.username == username.strip().lower()))

    def list_users(self) -> list[User]:
        with self._session() as session:
            return list(session.scalars(select(User).order_by(User.username)))

    def set_password(self, username: str, password: str) -> None:
        """A new password; it also lifts a lockout (an admin reset it)."""
        check_strength(password)
        hashed = hash_password(password, self.hasher)
        with self._session() as session:
            user = self._user(session, username)
            user.password_hash = hashed
            user.failed_logins = 0
            user.locked_until = None

    def set_role(self, username: str, role: str) -> None:
        _check_role(role)
        with self._session() as session:
            user = self._user(session, username)
            if user.role == "admin" and role != "admin":
                self._keep_an_admin(session, user)
            if role == "consultant" and any(m.can_write for m in user.memberships):
                raise ValueError(f"{user.username} has write grants: revoke them first")
            user.role = role

    def deactivate(self, username: str) -> None:
        with self._session() as session:
            user = self._user(session, username)
            if user.role == "admin":
                self._keep_an_admin(session, user)
            user.active = False

    def activate(self, username: str) -> None:
        with self._session() as session:
            self._user(session, username).active = True

    def authenticate(self, username: str, password: str) -> User | None:
        """The user when the password is right and the account active and not locked.
        After `max_failures` wrong passwords in a row the account is locked for `lockout`.
        Unknown, inactive and locked accounts still cost one hash verification, so the
        time taken does not tell which usernames exist."""
        if len(password) > MAX_LENGTH:
            return None
        name = username.strip().lower()
        with self._session() as session:
            # The row lock (PostgreSQL) keeps concurrent failures from losing a count.
            user = session.scalar(select(User).where(User.username == name).with_for_update())
            now = self.clock()
            if user is None or not user.active or (user.locked_until or now) > now:
                verify_password(self._dummy_hash(), password, self.hasher)
                return None
            if not verify_password(user.password_hash, password, self.hasher):
                user.failed_logins += 1
                if user.failed_logins >= self.max_failures:
                    user.failed_logins = 0
                    user.locked_until = now + self.lockout
                return None
            user.failed_logins = 0
            user.locked_until = None
            if needs_rehash(user.password_hash, self.hasher):
                user.password_hash = hash_password(password, self.hasher)
            return user

    def bootstrap_admin(self, username: str = "admin") -> str | None:
        """Create the first admin with a generated password and return the password (the
        caller shows it once; it is not stored anywhere else). None when an admin exists."""
        with self._session() as session:
            if session.scalar(select(User.id).where(User.role == "admin").limit(1)):
                return None
        password = generate_password()
        try:
            self.add_user(username, password, role="admin", display_name="Amministratore")
        except ValueError:
            # Another process bootstrapped first, or the name is taken by a non-admin.
            if self.get_user(username) is not None and self._has_admin():
                return None
            raise
        return password

    def _has_admin(self) -> bool:
        with self._session() as session:
            return session.scalar(select(User.id).where(User.role == "admin").limit(1)) is not None

    def _keep_an_admin(self, session: Session, user: User) -> None:
        others = session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == "admin", User.active.is_(True), User.id != user.id)
        )
        if not others:
            raise ValueError(f"{user.username} is the last active admin")

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = hash_password(generate_password(), self.hasher)
        return self._dummy

    @staticmethod
    def _user(session: Session, username: str) -> User:
        user = session.scalar(select(User).where(User.username == username.strip().lower()))
        if user is None:
            raise LookupError(f"no user {username}")
        return user

    # -- workspaces and grants --------------------------------------------------------

    def ensure_default_workspaces(self) -> list[str]:
        """The shared workspace and one per comune of the Ambito; returns those created."""
        created = []
        with self._session() as session:
            existing = set(session.scalars(select(Workspace.id)))
            for slug, name, kind, comune in default_workspaces():
                if slug not in existing:
                    session.add(Workspace(id=slug, name=name, kind=kind, comune=comune))
                    created.append(slug)
        return created

    def add_workspace(
        self, slug: str, name: str, kind: str | None = None, comune: str | None = None
    ) -> Workspace:
        check_slug(slug)
        kind = kind or ("comune" if comune else "shared")
        if kind not in WORKSPACE_KINDS:
            raise ValueError(f"kind {kind!r}: use one of {', '.join(WORKSPACE_KINDS)}")
        workspace = Workspace(
            id=slug, name=_bounded(name.strip(), 200, "name"), kind=kind, comune=comune or None
        )
        try:
            with self._session() as session:
                if session.get(Workspace, slug) is not None:
                    raise ValueError(f"workspace {slug} exists")
                session.add(workspace)
        except IntegrityError as error:
            raise ValueError(f"workspace {slug} exists") from error
        return workspace

    def list_workspaces(self) -> list[Workspace]:
        with self._session() as session:
            return list(session.scalars(select(Workspace).order_by(Workspace.id)))

    def get_workspace(self, slug: str) -> Workspace | None:
        with self._session() as session:
            return session.get(Workspace, slug)

    def grant(self, username: str, workspace: str, can_write: bool = False) -> None:
        """Give (or change) a user's access to a workspace."""
        with self._session() as session:
            user = self._user(session, username)
            if session.get(Workspace, workspace) is None:
                raise LookupError(f"no workspace {workspace}")
            if can_write and user.role == "consultant":
                raise ValueError(f"{user.username} is a consultant: consultants write nothing")
            membership = session.get(Membership, (user.id, workspace))
            if membership is None:
                session.add(
                    Membership(user_id=user.id, workspace_id=workspace, can_write=can_write)
                )
            else:
                membership.can_write = can_write

    def revoke(self, username: str, workspace: str) -> bool:
        """False when there was no grant to revoke."""
        with self._session() as session:
            user = self._user(session, username)
            membership = session.get(Membership, (user.id, workspace))
            if membership is None:
                return False
            session.delete(membership)
            return True

    # -- the access rules -------------------------------------------------------------

    def readable_workspaces(self, user: Actor) -> set[str]:
        with self._session() as session:
            return self._allowed(session, self._actor(session, user), "read")

    def writable_workspaces(self, user: Actor) -> set[str]:
        with self._session() as session:
            return self._allowed(session, self._actor(session, user), "write")

    @staticmethod
    def _actor(session: Session, user: Actor) -> User:
        if isinstance(user, User):
            found = session.get(User, user.id)
        else:
            found = session.scalar(select(User).where(User.username == user.strip().lower()))
        if found is None:
            raise PermissionError(f"{getattr(user, 'username', user)} is not a user")
        return found

    @staticmethod
    def _allowed(session: Session, actor: User, mode: Mode) -> set[str]:
        rule = access.readable if mode == "read" else access.writable
        everything = session.scalars(select(Workspace.id)) if actor.role == "admin" else ()
        return rule(actor.role, actor.active, actor.grants(), everything)

    def _require(self, session: Session, actor: User, workspace: str, mode: Mode) -> None:
        if workspace not in self._allowed(session, actor, mode):
            raise PermissionError(f"{actor.username} cannot {mode} workspace {workspace}")

    # -- chats ------------------------------------------------------------------------

    def create_chat(self, user: Actor, workspace: str, title: str = "") -> Chat:
        with self._session() as session:
            actor = self._actor(session, user)
            self._require(session, actor, workspace, "write")
            now = self.clock()
            chat = Chat(
                workspace_id=workspace,
                user=actor,
                title=title.strip()[:300],
                created_at=now,
                updated_at=now,
            )
            session.add(chat)
            session.flush()
            return chat

    def add_message(
        self,
        user: Actor,
        chat_id: int,
        role: str,
        content: str,
        sources: Sequence[Mapping[str, Any]] | None = None,
    ) -> ChatMessage:
        if role not in MESSAGE_ROLES:
            raise ValueError(f"message role {role!r}: use one of {', '.join(MESSAGE_ROLES)}")
        with self._session() as session:
            actor = self._actor(session, user)
            chat = self._chat(session, chat_id)
            self._require(session, actor, chat.workspace_id, "write")
            if not access.may_continue_chat(actor.role, actor.id, chat.user_id):
                raise PermissionError(f"{actor.username} cannot write chat {chat_id}")
            now = self.clock()
            message = ChatMessage(
                chat_id=chat.id,
                role=role,
                content=content,
                sources=[dict(s) for s in sources or []],
                created_at=now,
            )
            chat.updated_at = now
            session.add(message)
            session.flush()
            return message

    def list_chats(self, user: Actor, workspace: str) -> list[Chat]:
        """The workspace's chats, the most recently active first (without messages)."""
        with self._session() as session:
            self._require(session, self._actor(session, user), workspace, "read")
            query = (
                select(Chat)
                .where(Chat.workspace_id == workspace)
                .order_by(Chat.updated_at.desc(), Chat.id.desc())
            )
            return list(session.scalars(query))

    def get_chat(self, user: Actor, chat_id: int) -> Chat:
        """The chat with its messages (chat.messages), oldest first."""
        with self._session() as session:
            actor = self._actor(session, user)
            chat = self._chat(session, chat_id, with_messages=True)
            self._require(session, actor, chat.workspace_id, "read")
            return chat

    @staticmethod
    def _chat(session: Session, chat_id: int, with_messages: bool = False) -> Chat:
        query = select(Chat).where(Chat.id == chat_id)
        if with_messages:
            query = query.options(selectinload(Chat.messages))
        chat = session.scalar(query)
        if chat is None:
            raise LookupError(f"no chat {chat_id}")
        return chat

    # -- drafts -----------------------------------------------------------------------

    def create_draft(
        self,
        user: Actor,
        workspace: str,
        call_id: str,
        section_id: str,
        title: str = "",
        text: str | None = None,
        note: str = "",
    ) -> Draft:
        """A draft of one section of a call; with `text`, its version 1 too."""
        with self._session() as session:
            actor = self._actor(session, user)
            self._require(session, actor, workspace, "write")
            now = self.clock()
            draft = Draft(
                workspace_id=workspace,
                call_id=_bounded(call_id, 200, "call id"),
                section_id=_bounded(section_id, 200, "section id"),
                title=title.strip()[:300],
                author=actor,
                created_at=now,
            )
            session.add(draft)
            session.flush()
            if text is not None:
                session.add(
                    DraftVersion(
                        draft_id=draft.id,
                        number=1,
                        text=text,
                        author_id=actor.id,
                        created_at=now,
                        note=note,
                    )
                )
            return draft

    def list_drafts(self, user: Actor, workspace: str, call_id: str | None = None) -> list[Draft]:
        with self._session() as session:
            self._require(session, self._actor(session, user), workspace, "read")
            query = select(Draft).where(Draft.workspace_id == workspace)
            if call_id is not None:
                query = query.where(Draft.call_id == call_id)
            return list(session.scalars(query.order_by(Draft.id)))

    def get_draft(self, user: Actor, draft_id: int) -> Draft:
        with self._session() as session:
            return self._draft(session, self._actor(session, user), draft_id, "read")

    def add_version(self, user: Actor, draft_id: int, text: str, note: str = "") -> int:
        """Save a new text of the draft; returns its number (1, 2, ...)."""
        tries = 20
        while True:
            try:
                return self._add_version(user, draft_id, text, note)
            except IntegrityError:
                # Another save took this number (SQLite reads the last number before it
                # locks the file): read it again, after a short random pause so that two
                # savers stop colliding (three tries were not enough on a busy machine).
                tries -= 1
                if not tries:
                    raise
                time.sleep(random.uniform(0.001, 0.02))

    def _add_version(self, user: Actor, draft_id: int, text: str, note: str) -> int:
        with self._session() as session:
            actor = self._actor(session, user)
            self._draft(session, actor, draft_id, "write")
            # Lock the draft row so concurrent saves number 2 and 3, not 2 and 2 (PostgreSQL;
            # SQLite serialises writers anyway). The unique constraint is the backstop.
            session.execute(select(Draft.id).where(Draft.id == draft_id).with_for_update())
            last = session.scalar(
                select(func.max(DraftVersion.number)).where(DraftVersion.draft_id == draft_id)
            )
            number = (last or 0) + 1
            session.add(
                DraftVersion(
                    draft_id=draft_id,
                    number=number,
                    text=text,
                    author_id=actor.id,
                    created_at=self.clock(),
                    note=note,
                )
            )
            return number

    def versions(self, user: Actor, draft_id: int) -> list[DraftVersion]:
        """Every version, first to last, each with its author (version.author) and time."""
        with self._session() as session:
            self._draft(session, self._actor(session, user), draft_id, "read")
            query = (
                select(DraftVersion)
                .where(DraftVersion.draft_id == draft_id)
                .order_by(DraftVersion.number)
            )
            return list(session.scalars(query))

    def add_comment(
        self, user: Actor, draft_id: int, text: str, version: int | None = None
    ) -> DraftComment:
        """A comment on the draft, or on one version of it."""
        if not text.strip():
            raise ValueError("empty comment")
        with self._session() as session:
            actor = self._actor(session, user)
            self._draft(session, actor, draft_id, "write")
            if version is not None and not session.scalar(
                select(DraftVersion.id).where(
                    DraftVersion.draft_id == draft_id, DraftVersion.number == version
                )
            ):
                raise LookupError(f"draft {draft_id} has no version {version}")
            comment = DraftComment(
                draft_id=draft_id,
                version=version,
                author=actor,
                text=text.strip(),
                created_at=self.clock(),
            )
            session.add(comment)
            session.flush()
            return comment

    def comments(self, user: Actor, draft_id: int) -> list[DraftComment]:
        with self._session() as session:
            self._draft(session, self._actor(session, user), draft_id, "read")
            query = (
                select(DraftComment)
                .where(DraftComment.draft_id == draft_id)
                .order_by(DraftComment.id)
            )
            return list(session.scalars(query))

    def _draft(self, session: Session, actor: User, draft_id: int, mode: Mode) -> Draft:
        draft = session.get(Draft, draft_id)
        if draft is None:
            raise LookupError(f"no draft {draft_id}")
        self._require(session, actor, draft.workspace_id, mode)
        return draft

    # -- eligibility results and skeleton runs ----------------------------------------

    def save_eligibility(
        self,
        user: Actor,
        workspace: str,
        call_id: str,
        verdict: str,
        result: Mapping[str, Any],
        project_title: str = "",
    ) -> EligibilityResult:
        """`result` is the JSON of the check (e.g. `verdict.model_dump(mode="json")`)."""
        with self._session() as session:
            actor = self._actor(session, user)
            self._require(session, actor, workspace, "write")
            row = EligibilityResult(
                workspace_id=workspace,
                user=actor,
                call_id=_bounded(call_id, 200, "call id"),
                project_title=project_title.strip()[:300],
                verdict=_bounded(verdict, 40, "verdict"),
                result=dict(result),
                created_at=self.clock(),
            )
            session.add(row)
            session.flush()
            return row

    def list_eligibility(
        self, user: Actor, workspace: str, call_id: str | None = None
    ) -> list[EligibilityResult]:
        """Newest first."""
        with self._session() as session:
            self._require(session, self._actor(session, user), workspace, "read")
            query = select(EligibilityResult).where(EligibilityResult.workspace_id == workspace)
            if call_id is not None:
                query = query.where(EligibilityResult.call_id == call_id)
            order = (EligibilityResult.created_at.desc(), EligibilityResult.id.desc())
            return list(session.scalars(query.order_by(*order)))

    def save_skeleton_run(
        self, user: Actor, workspace: str, call_id: str, files: Sequence[Any]
    ) -> SkeletonRun:
        """`files`: what the run wrote (paths, or dicts with path and project)."""
        with self._session() as session:
            actor = self._actor(session, user)
            self._require(session, actor, workspace, "write")
            row = SkeletonRun(
                workspace_id=workspace,
                user=actor,
                call_id=_bounded(call_id, 200, "call id"),
                files=[str(f) if isinstance(f, Path) else f for f in files],
                created_at=self.clock(),
            )
            session.add(row)
            session.flush()
            return row

    def list_skeleton_runs(
        self, user: Actor, workspace: str, call_id: str | None = None
    ) -> list[SkeletonRun]:
        """Newest first."""
        with self._session() as session:
            self._require(session, self._actor(session, user), workspace, "read")
            query = select(SkeletonRun).where(SkeletonRun.workspace_id == workspace)
            if call_id is not None:
                query = query.where(SkeletonRun.call_id == call_id)
            order = (SkeletonRun.created_at.desc(), SkeletonRun.id.desc())
            return list(session.scalars(query.order_by(*order)))
