"""The review server's door: the session token, one-time sign-in links, bounded request bodies.

Every request must carry the session token: as the cookie a sign-in link sets, or an
`X-Review-Token` header (scripts). The token itself never goes into a URL: the CLI hands the
browser a one-time link, `/login/<nonce>.<mac>` (the mac is an HMAC of the nonce under the
token, so only who holds the token can make one), which sets the cookie and redirects to the
list. A link works once: the copy the browser keeps in its history opens nothing. Each use makes
the server offer a fresh link (`on_login`), so a second browser can still sign in.

The cookie is named after the token, so two review servers in one browser keep their own
(cookies are not scoped by port: a browser sends them to every service on 127.0.0.1, so the
cookie is HttpOnly and SameSite=Strict). Writes also refuse a foreign `Origin`. Every response
forbids framing, content sniffing, referrers and any script, style or frame from elsewhere.
A request body is read only up to MAX_BODY bytes and JSON nested only MAX_DEPTH deep.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .corrections import CorrectionsError

MAX_BODY = 64 * 1024  # a correction is a field path and a value; a goal is a few KB at most
MAX_DEPTH = 8  # the bodies are flat objects
LOGIN = "/login/"
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
        b"form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class BodyTooLarge(CorrectionsError):
    """A request body over MAX_BODY bytes (answered 413, never read whole)."""


def cookie_name(token: str) -> str:
    """One cookie per server: a second server in the same browser no longer logs out the first."""
    return "structurer_review_" + hashlib.sha256(token.encode()).hexdigest()[:12]


def login_path(token: str) -> str:
    """A fresh one-time sign-in path for the server of `token`."""
    nonce = secrets.token_urlsafe(12)
    return f"{LOGIN}{nonce}.{_mac(token, nonce)}"


def _mac(token: str, nonce: str) -> str:
    return hmac.new(token.encode(), nonce.encode(), hashlib.sha256).hexdigest()[:32]


class TokenGate:
    """Refuses (403) every request without the session token; turns a sign-in link into the
    cookie once."""

    def __init__(
        self, app: ASGIApp, token: str, on_login: Callable[[str], None] | None = None
    ) -> None:
        self.app = app
        self.token = token
        self.cookie = cookie_name(token)
        self.on_login = on_login
        self._used: set[str] = set()
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self._gate(scope, receive, send_secured)

    async def _gate(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        if request.url.path.startswith(LOGIN) and request.method == "GET":
            response = self._login(request.url.path.removeprefix(LOGIN))
        elif not any(
            self._ok(t)
            for t in (request.cookies.get(self.cookie), request.headers.get("x-review-token"))
        ):
            response = PlainTextResponse(
                "403: open the link that `structurer review` printed.", 403
            )
        elif request.method != "GET" and not _same_origin(request):
            response = PlainTextResponse("403: cross-origin request refused.", 403)
        else:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)

    def _login(self, link: str) -> Response:
        nonce, _, mac = link.partition(".")
        valid = bool(nonce) and hmac.compare_digest(
            mac.encode("utf-8", "surrogatepass"), _mac(self.token, nonce).encode()
        )
        with self._lock:
            fresh = valid and nonce not in self._used
            if fresh:
                self._used.add(nonce)
        if not fresh:
            return PlainTextResponse(
                "403: this sign-in link was used already (a link works once): open the newest "
                "link `structurer review` printed.",
                403,
            )
        if self.on_login is not None:
            self.on_login(login_path(self.token))
        response = RedirectResponse("/", 303)
        response.set_cookie(self.cookie, self.token, httponly=True, samesite="strict")
        return response

    def _ok(self, candidate: str | None) -> bool:
        # as bytes: compare_digest raises TypeError on a non-ASCII str (an unauthenticated 500)
        given = str(candidate or "").encode("utf-8", "surrogatepass")
        return bool(given) and secrets.compare_digest(given, self.token.encode())


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.headers.get('host')}"


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object, read only up to MAX_BODY bytes and MAX_DEPTH levels deep."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise BodyTooLarge(f"request body over {MAX_BODY} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BodyTooLarge(f"request body over {MAX_BODY} bytes")
    if nesting(bytes(body)) > MAX_DEPTH:
        raise CorrectionsError(f"request body nested over {MAX_DEPTH} levels")
    try:
        data = json.loads(bytes(body) or b"{}")
    except ValueError:
        raise CorrectionsError("request body is not JSON") from None
    if not isinstance(data, dict):
        raise CorrectionsError("request body must be a JSON object")
    return data


def nesting(text: bytes) -> int:
    """How deep JSON text nests its arrays and objects, found without parsing it (a parser
    recurses: 100,000 levels raise RecursionError)."""
    deepest = depth = 0
    in_string = escaped = False
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest
