"""Password hashing with Argon2id (argon2-cffi): the hash carries its own salt and
parameters, so stronger parameters later only need `needs_rehash` at the next login."""

from __future__ import annotations

import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 1024  # hashing a megabyte per login attempt would be a cheap denial of service
# No 0/O, 1/l/I: the first admin password is read off a screen and typed once.
_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")

DEFAULT_HASHER = PasswordHasher()  # argon2-cffi's RFC 9106 "low memory" profile


def check_strength(password: str) -> None:
    """Raise ValueError for a password the office should not accept."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"password too short: at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"password too long: at most {MAX_LENGTH} characters")
    if not password.strip():
        raise ValueError("password is blank")


def hash_password(password: str, hasher: PasswordHasher = DEFAULT_HASHER) -> str:
    return hasher.hash(password)


def verify_password(hashed: str, password: str, hasher: PasswordHasher = DEFAULT_HASHER) -> bool:
    """True when the password matches; False for a wrong password or a damaged hash."""
    try:
        return hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(hashed: str, hasher: PasswordHasher = DEFAULT_HASHER) -> bool:
    try:
        return hasher.check_needs_rehash(hashed)
    except InvalidHashError:
        return True


def generate_password(length: int = 20) -> str:
    """A random password (about 5.8 bits a character: 20 characters ≈ 117 bits)."""
    if length < 16:
        raise ValueError("generated passwords have at least 16 characters")
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
