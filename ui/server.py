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

    `reserve` counts an attempt before the password is checked (so a burst of parallel
    requests cannot get past the limit); `release` gives it back when the login succeeds.
    """

    def __init__(
        self,
        attempts: int = 10,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self.clock = clock
        self.max_clients = max_clients
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def reserve(self, client: str) -> float:
        """0 when the attempt may go ahead (and is counted), else the seconds to wait."""
        now = self.clock()
        with self._lock:
            times = self._seen.setdefault(client, deque())
            while times and times[0] <= now - self.window_s:
                times.popleft()
            if len(times) >= self.attempts:
                return max(times[0] + self.window_s - now, 0.001)
            times.append(now)
            if len(self._seen) > self.max_clients:
                self._forget_idle(now)
            return 0.0

    def release(self, client: str) -> None:
        with self._lock:
            times = self._seen.get(client)
            if times:
                times.pop()

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, t in self._seen.items() if not t or t[-1] <= now - self.window_s]:
            del self._seen[key]


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
            wait = self.limiter.reserve(client)
            if wait:
                await self._too_many(math.ceil(wait), send)
                return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                if login and message["status"] == 200:
                    self.limiter.release(client)
                self._secure(message, cacheable)
            await send(message)

        await self.app(scope, receive, send_with_headers)

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
