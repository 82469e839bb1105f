"""The review web app (Starlette): server-rendered pages, a little vanilla JS, no build step.

Security: the server binds 127.0.0.1 only (see the CLI) and every request must carry the session
token, as a `token` query parameter (the printed URL; answered with a cookie and a redirect to the
same page without it), the cookie, or an `X-Review-Token` header. Writes also refuse a foreign
`Origin`. Forms are addressed by number only; a number that is not 1..N is refused. The cookie is
named after the token, so two review servers in one browser keep their own (cookies are not
scoped by port: a browser sends them to every service on 127.0.0.1, so the cookie is HttpOnly
and SameSite=Strict, and the name says which server it is for). Every response forbids framing,
content sniffing, referrers and any script, style or frame from elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from anyio import open_file  # noqa: F401  load anyio's lazy file module now, not on a request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .corrections import CorrectionsError
from .pages import FormPages, form_pages
from .queue import TIER_LABELS, to_review
from .session import Conflict, ReviewSession
from .view import build_form

HERE = Path(__file__).parent
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


def cookie_name(token: str) -> str:
    """One cookie per server: a second server in the same browser no longer logs out the first."""
    return "structurer_review_" + hashlib.sha256(token.encode()).hexdigest()[:12]


class TokenGate:
    """Refuses (403) every request without the session token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token
        self.cookie = cookie_name(token)

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
        query = request.query_params.get("token")
        if query is not None and self._ok(query) and request.method == "GET":
            rest = urlencode(
                [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            )
            # one leading slash: `//evil.example/` would be a redirect to another site
            here = "/" + request.url.path.lstrip("/")
            response: Response = RedirectResponse(here + (f"?{rest}" if rest else ""), 303)
            response.set_cookie(self.cookie, self.token, httponly=True, samesite="strict")
        elif not any(
            self._ok(t)
            for t in (
                query,
                request.cookies.get(self.cookie),
                request.headers.get("x-review-token"),
            )
        ):
            response = PlainTextResponse(
                "403: open the URL with the token that `structurer review` printed.", 403
            )
        elif request.method != "GET" and not _same_origin(request):
            response = PlainTextResponse("403: cross-origin request refused.", 403)
        else:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)

    def _ok(self, candidate: str | None) -> bool:
        # as bytes: compare_digest raises TypeError on a non-ASCII str (an unauthenticated 500)
        given = str(candidate or "").encode("utf-8", "surrogatepass")
        return bool(given) and secrets.compare_digest(given, self.token.encode())


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.headers.get('host')}"


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return Jinja2Templates(env=env)


def create_app(session: ReviewSession, token: str) -> ASGIApp:
    templates = _templates()

    def page(
        request: Request, name: str, status: int = 200, number: int | None = None, **context: Any
    ) -> Response:
        doc = session.docs[number - 1] if number else None
        base = {
            "doc": doc.key if doc else _corpus_name(session),
            "title": doc.title if doc else None,
            "reviewer": session.reviewer or "anonymous",
        }
        return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)

    def index(request: Request) -> Response:
        states = session.states()
        rows = session.queue()
        counts = Counter(s.status for s in states)
        first = next(iter(to_review(states, session.sample)), None)
        return page(
            request, "list.html", rows=rows, counts=counts, first=first, tier=session.tier,
            labels=TIER_LABELS, estimate=session.estimate(), corpus=len(session.documents) > 1,
        )  # fmt: skip

    def form(request: Request) -> Response:
        number = _number(request, session)
        prev, nxt = session.neighbours(number)
        total = len(session.base)
        view = build_form(session.state(number), session.vocab)
        pages = _pages_of(session, number)
        renderer = session.renderer(number)
        shown = renderer.path.name if renderer else ""
        return page(
            request, "form.html", number=number, v=view, prev=prev, next=nxt, total=total,
            pages=pages, page_pdf=shown,
        )  # fmt: skip

    def page_png(request: Request) -> Response:
        number = _number(request, session)
        wanted = request.path_params.get("page", "")
        region = next(
            (r for r in _pages_of(session, number).regions if str(r.page) == wanted), None
        )
        renderer = session.renderer(number)
        if renderer is None or region is None:
            raise _Refused(wanted)
        headers = {"Cache-Control": "private, max-age=600"}
        return Response(renderer.png(region), media_type="image/png", headers=headers)

    def pane(request: Request, number: int, status: int = 200) -> Response:
        prev, nxt = session.neighbours(number)
        view = build_form(session.state(number), session.vocab)
        return page(request, "_pane.html", status, number, v=view, prev=prev, next=nxt)

    def get_pane(request: Request) -> Response:
        return pane(request, _number(request, session))

    async def edit(request: Request) -> Response:
        number, body = _number(request, session), await _json(request)
        reviewer = _reviewer(body)
        return await _write(
            request,
            number,
            lambda: session.edit(
                number, str(body.get("path", "")), body.get("new"), old=body.get("old"),
                reviewer=reviewer,
            ),
        )  # fmt: skip

    async def indicators(request: Request) -> Response:
        number, body = _number(request, session), await _json(request)
        args = {k: _int_or_none(body.get(k)) for k in ("index", "to", "seen")}
        op, reviewer = str(body.get("op", "")), _reviewer(body)
        return await _write(
            request, number, lambda: session.indicators(number, op, reviewer=reviewer, **args)
        )

    async def review(request: Request) -> Response:
        number, body = _number(request, session), await _json(request)
        flag, reviewer = bool(body.get("reviewed", True)), _reviewer(body)
        return await _write(
            request, number, lambda: session.mark_reviewed(number, flag, reviewer=reviewer)
        )

    async def accept(request: Request) -> Response:
        number, body = _number(request, session), await _json(request)
        index, code, reviewer = (
            _int_or_none(body.get("index")),
            str(body.get("code", "")),
            _reviewer(body),
        )
        reason = body.get("reason")
        reason = None if reason is None else str(reason)
        if index is None:
            raise CorrectionsError("which finding? give its index")
        return await _write(
            request, number,
            lambda: session.accept(number, index, code, reason, reviewer=reviewer),
        )  # fmt: skip

    async def _write(request: Request, number: int, change: Any) -> Response:
        from starlette.concurrency import run_in_threadpool

        try:
            await run_in_threadpool(change)  # file lock + fsync: keep the event loop free
        except Conflict as exc:
            return JSONResponse({"error": str(exc), "conflict": True}, 409)
        except (CorrectionsError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return pane(request, number)

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/form/{number}", form),
            Route("/form/{number}/pane", get_pane),
            Route("/form/{number}/page/{page}", page_png),
            Route("/form/{number}/edit", edit, methods=["POST"]),
            Route("/form/{number}/indicators", indicators, methods=["POST"]),
            Route("/form/{number}/review", review, methods=["POST"]),
            Route("/form/{number}/accept", accept, methods=["POST"]),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        exception_handlers={404: _not_found, _Refused: _not_found, CorrectionsError: _bad},
    )
    app.router.redirect_slashes = False  # a stray slash is a 404, not a redirect elsewhere
    return TokenGate(app, token)


def _corpus_name(session: ReviewSession) -> str:
    if len(session.documents) == 1:
        return next(iter(session.documents))
    return f"{len(session.documents)} documents"


class _Refused(KeyError):
    pass


def _pages_of(session: ReviewSession, number: int) -> FormPages:
    """The page regions of a form, when its document has page images."""
    document = session.docs[number - 1]
    if document is None or session.renderer(number) is None:
        return FormPages()
    return form_pages(document, session.state(number).chunk)


def _number(request: Request, session: ReviewSession) -> int:
    """The form number in the path: digits naming a form 1..N, anything else is refused."""
    raw = request.path_params.get("number", "")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6):
        raise _Refused(raw)
    number = int(raw)
    if not 1 <= number <= len(session.base):
        raise _Refused(raw)
    return number


async def _not_found(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("404: no such form or page.", 404)


async def _bad(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": str(exc)}, 400)


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise CorrectionsError("request body is not JSON") from None
    if not isinstance(body, dict):
        raise CorrectionsError("request body must be a JSON object")
    return body


def _reviewer(body: dict[str, Any]) -> str:
    name = str(body.get("reviewer") or "").strip()
    return "".join(ch for ch in name if ch.isprintable())[:40]


def _int_or_none(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not str(value).lstrip("-").isdigit():
        raise CorrectionsError(f"not a number: {value!r}")
    return int(value)
