"""The review web app (Starlette): server-rendered pages, a little vanilla JS, no build step.

The door (token, one-time sign-in links, bounded bodies, security headers) is gate.py. Forms are
addressed by number only; a number that is not 1..N is refused. The pages speak the session's
language (Chinese by default): their words and every finding's message come from the message
table (messages.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from anyio import open_file  # noqa: F401  load anyio's lazy file module now, not on a request
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp

from .corrections import CorrectionsError
from .gate import BodyTooLarge, TokenGate, cookie_name, login_path, read_json
from .messages import DEFAULT_LANG, Lang, messages
from .pages import FormPages, PageError, form_pages
from .queue import Estimate, to_review
from .session import Conflict, ReviewSession
from .view import build_form

__all__ = ["cookie_name", "create_app", "login_path"]

HERE = Path(__file__).parent
# the words review.js needs (the rest of the page is rendered here)
JS_TEXTS = ("saved", "save_failed", "marked", "unmarked", "accepted_toast", "withdrawn",
            "reason_placeholder", "reason_default", "reviewer_prompt", "live_ok", "live_after",
            "no_more", "accept")  # fmt: skip


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return Jinja2Templates(env=env)


def create_app(
    session: ReviewSession,
    token: str,
    *,
    lang: Lang = DEFAULT_LANG,
    on_login: Callable[[str], None] | None = None,
) -> ASGIApp:
    templates = _templates()
    t = messages().ui(lang)

    def page(
        request: Request, name: str, status: int = 200, number: int | None = None, **context: Any
    ) -> Response:
        doc = session.docs[number - 1] if number else None
        base = {
            "doc": doc.key if doc else _corpus_name(session, t),
            "title": doc.title if doc else None,
            "reviewer": session.reviewer or t["anonymous"],
            "t": t,
            "lang": lang,
            "js_texts": {k: t[k] for k in JS_TEXTS},
        }
        return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)

    def index(request: Request) -> Response:
        states = session.states()
        rows = session.queue()
        counts = Counter(s.status for s in states)
        first = next(iter(to_review(states, session.sample)), None)
        estimate = session.estimate()
        return page(
            request, "list.html", rows=rows, counts=counts, first=first, tier=session.tier,
            estimate=_estimate_text(estimate, t) if estimate else None,
            corpus=len(session.documents) > 1,
        )  # fmt: skip

    def form(request: Request) -> Response:
        number = _number(request, session)
        prev, nxt = session.neighbours(number)
        view = build_form(session.state(number), session.vocab, lang)
        renderer = session.renderer(number)
        return page(
            request, "form.html", number=number, v=view, prev=prev, next=nxt,
            pages=_pages_of(session, number), page_pdf=renderer.path.name if renderer else "",
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

    def pane(request: Request, number: int) -> Response:
        prev, nxt = session.neighbours(number)
        view = build_form(session.state(number), session.vocab, lang)
        return page(request, "_pane.html", 200, number, v=view, prev=prev, next=nxt)

    def get_pane(request: Request) -> Response:
        return pane(request, _number(request, session))

    async def edit(request: Request) -> Response:
        number, body = _number(request, session), await read_json(request)
        path, new, old, who = (
            str(body.get("path", "")),
            body.get("new"),
            body.get("old"),
            _who(body),
        )
        return await _write(
            request, number, lambda: session.edit(number, path, new, old=old, reviewer=who)
        )

    async def preview(request: Request) -> Response:
        """What the arithmetic, hierarchy and header checks say of a value being typed."""
        number, body = _number(request, session), await read_json(request)
        path = str(body.get("path", ""))
        found = await run_in_threadpool(session.preview, number, path, body.get("new"))
        shown = [
            {"severity": f.severity, "code": f.code,
             "text": messages().finding(f, lang, session.vocab)}
            for f in found
        ]  # fmt: skip
        return JSONResponse({"findings": shown})

    async def indicators(request: Request) -> Response:
        number, body = _number(request, session), await read_json(request)
        args = {k: _int_or_none(body.get(k)) for k in ("index", "to", "seen")}
        op, who = str(body.get("op", "")), _who(body)
        return await _write(
            request, number, lambda: session.indicators(number, op, reviewer=who, **args)
        )

    async def review(request: Request) -> Response:
        number, body = _number(request, session), await read_json(request)
        flag, who = bool(body.get("reviewed", True)), _who(body)
        return await _write(
            request, number, lambda: session.mark_reviewed(number, flag, reviewer=who)
        )

    async def accept(request: Request) -> Response:
        number, body = _number(request, session), await read_json(request)
        index, code, who = _int_or_none(body.get("index")), str(body.get("code", "")), _who(body)
        reason = None if body.get("reason") is None else str(body.get("reason"))
        if index is None:
            raise CorrectionsError("which finding? give its index")
        return await _write(
            request, number, lambda: session.accept(number, index, code, reason, reviewer=who)
        )

    async def _write(request: Request, number: int, change: Callable[[], Any]) -> Response:
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
            Route("/form/{number}/preview", preview, methods=["POST"]),
            Route("/form/{number}/indicators", indicators, methods=["POST"]),
            Route("/form/{number}/review", review, methods=["POST"]),
            Route("/form/{number}/accept", accept, methods=["POST"]),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        exception_handlers={
            404: _not_found, _Refused: _not_found, BodyTooLarge: _too_large,
            CorrectionsError: _bad, PageError: _unrenderable,
        },
    )  # fmt: skip
    app.router.redirect_slashes = False  # a stray slash is a 404, not a redirect elsewhere
    return TokenGate(app, token, on_login)


def _corpus_name(session: ReviewSession, t: dict[str, str]) -> str:
    if len(session.documents) == 1:
        return next(iter(session.documents))
    return t["documents"].format(n=len(session.documents))


def _estimate_text(e: Estimate, t: dict[str, str]) -> str:
    if not e.reviewed or e.rate is None or e.interval is None:
        return t["estimate_pending"].format(sampled=e.sampled, reviewed=e.reviewed)
    low, high = e.interval
    return t["estimate"].format(
        sampled=e.sampled, reviewed=e.reviewed, wrong=e.wrong, clean=e.clean,
        rate=f"{e.rate:.0%}", low=f"{low:.0%}", high=f"{high:.0%}",
        forms=round(e.rate * e.clean),
    )  # fmt: skip


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


async def _too_large(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": str(exc)}, 413)


async def _unrenderable(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"422: {exc}", 422)


def _who(body: dict[str, Any]) -> str:
    """The reviewer's name a browser sends: printable, at most 40 characters."""
    name = str(body.get("reviewer") or "").strip()
    return "".join(ch for ch in name if ch.isprintable())[:40]


def _int_or_none(value: Any) -> int | None:
    if value is None or value == "":
        return None
    text = str(value)
    if isinstance(value, bool) or len(text) > 9 or not text.lstrip("-").isdigit():
        raise CorrectionsError(f"not a number: {value!r}")
    return int(value)
