"""Serving the review app with uvicorn on 127.0.0.1: in the foreground (CLI) or a thread (tests)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn

from .app import create_app
from .messages import DEFAULT_LANG, Lang
from .session import ReviewSession

HOST = "127.0.0.1"  # never another interface: the token is the only other lock


def bind(port: int, *, fallback: bool = False) -> socket.socket:
    """A listening socket on 127.0.0.1:port; with `fallback`, any free port if that one is taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # a restarted server gets its port back at once, though the last run's connections linger
    # in TIME_WAIT (a port another server is listening on stays refused)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError:
        if not fallback:
            sock.close()
            raise
        sock.bind((HOST, 0))
    sock.listen(128)
    return sock


def make_server(
    session: ReviewSession,
    token: str,
    *,
    lang: Lang = DEFAULT_LANG,
    on_login: Callable[[str], None] | None = None,
) -> uvicorn.Server:
    app = create_app(session, token, lang=lang, on_login=on_login)
    return uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))


@contextmanager
def running(
    session: ReviewSession, token: str, port: int = 0, *, lang: Lang = DEFAULT_LANG
) -> Iterator[str]:
    """Serve in a background thread; yields the base URL (no token), stops on exit. Sign in
    with `base + gate.login_path(token)` or an X-Review-Token header."""
    sock = bind(port)
    server = make_server(session, token, lang=lang)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        raise RuntimeError("the review server did not start")
    try:
        yield f"http://{HOST}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
