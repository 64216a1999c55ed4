"""The HTTP layer around the Gradio app: security headers on every response, session cookies
that stay on this site, and a limit on failed logins per client address.

It is plain ASGI middleware, handed to the FastAPI app Gradio builds at launch
(`app_kwargs={"middleware": ...}`), so it sees the page, the assets, the API, the uploads
and the file downloads alike.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware

# Gradio's page needs its inline bootstrap script and inline styles, and shows data:/blob:
# images and media; everything else comes from this origin. External fonts (Google Fonts
# in the default theme) are refused: the page falls back to system fonts, and no third
# party learns who opens it.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Versioned front-end files: cacheable. Every other response may carry user data.
STATIC_PREFIXES = ("/assets/", "/static/", "/svelte/", "/favicon.ico")
LOGIN_PATHS = ("/login", "/login/")
TOO_MANY = "Troppi tentativi di accesso da questo indirizzo: riprova tra {seconds} secondi."


class LoginLimiter:
    """At most `attempts` failed logins per client address within `window_s` seconds.

    `begin` says whether an attempt may go ahead; `end` records how it went. Only failures
    count, so a whole office behind one address can log in at once (counting attempts
    while in flight refused 10 of 20 officers logging in together); a burst of parallel
    guesses is bounded by `max_in_flight` per address instead.
    """

    def __init__(
        self,
        attempts: int = 10,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
        max_in_flight: int = 32,
    ) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self.clock = clock
        self.max_clients = max_clients
        self.max_in_flight = max_in_flight
        self._failures: dict[str, deque[float]] = {}
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()

    def begin(self, client: str) -> float:
        """0 when the attempt may go ahead (then call `end`), else the seconds to wait."""
        now = self.clock()
        with self._lock:
            failures = self._failures.setdefault(client, deque())
            while failures and failures[0] <= now - self.window_s:
                failures.popleft()
            if len(failures) >= self.attempts:
                return max(failures[0] + self.window_s - now, 0.001)
            if self._in_flight.get(client, 0) >= self.max_in_flight:
                return 1.0
            self._in_flight[client] = self._in_flight.get(client, 0) + 1
            if len(self._failures) > self.max_clients:
                self._forget_idle(now)
            return 0.0

    def end(self, client: str, succeeded: bool) -> None:
        with self._lock:
            left = self._in_flight.get(client, 1) - 1
            if left > 0:
                self._in_flight[client] = left
            else:
                self._in_flight.pop(client, None)
            if not succeeded:
                self._failures.setdefault(client, deque()).append(self.clock())

    def _forget_idle(self, now: float) -> None:
        idle = [
            key
            for key, times in self._failures.items()
            if (not times or times[-1] <= now - self.window_s) and key not in self._in_flight
        ]
        for key in idle:
            del self._failures[key]


def _client(scope) -> str:
    # The direct peer. Behind a reverse proxy every user shares its address: the proxy
    # should then limit logins itself (X-Forwarded-For is not trusted here).
    return (scope.get("client") or ("unknown", 0))[0]


class SecurityMiddleware:
    def __init__(self, app, limiter: LoginLimiter | None = None) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        cacheable = path.startswith(STATIC_PREFIXES)
        login = self.limiter is not None and scope["method"] == "POST" and path in LOGIN_PATHS
        client = _client(scope)
        if login:
            wait = self.limiter.begin(client)
            if wait:
                await self._too_many(math.ceil(wait), send)
                return
        succeeded = False

        async def send_with_headers(message) -> None:
            nonlocal succeeded
            if message["type"] == "http.response.start":
                succeeded = message["status"] == 200
                self._secure(message, cacheable)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if login:
                self.limiter.end(client, succeeded)

    @staticmethod
    def _secure(message, cacheable: bool) -> None:
        headers = MutableHeaders(scope=message)
        for name, value in SECURITY_HEADERS.items():
            headers[name] = value
        if not cacheable:
            headers["Cache-Control"] = "no-store"
        # Gradio sets its session cookie SameSite=None (for embedding in other sites, which
        # frame-ancestors forbids anyway): keep it on this site.
        cookies = headers.getlist("set-cookie")
        if cookies:
            del headers["set-cookie"]
            for cookie in cookies:
                parts = [
                    p for p in cookie.split(";") if not p.strip().lower().startswith("samesite")
                ]
                headers.append("set-cookie", ";".join(parts) + "; SameSite=lax")

    async def _too_many(self, seconds: int, send) -> None:
        body = json.dumps({"detail": TOO_MANY.format(seconds=seconds)}).encode()
        message = {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(seconds).encode()),
            ],
        }
        self._secure(message, cacheable=False)
        await send(message)
        await send({"type": "http.response.body", "body": body})


def security_middleware(limiter: LoginLimiter | None) -> list[Middleware]:
    """For `blocks.launch(app_kwargs={"middleware": ...})`."""
    return [Middleware(SecurityMiddleware, limiter=limiter)]
