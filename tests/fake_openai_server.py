"""A local OpenAI-compatible server for the LLM tests and benchmarks: real sockets, real client.

It serves POST /v1/chat/completions on 127.0.0.1 from a scripted queue of `Reply`s (consumed in
order), falling back to a `responder(body) -> Reply` function; it records every request and the
most requests it had in flight at once. The reply's shape follows the request: a tool call when
the request offered tools, else message content (fenced like a chatty model when the request set
no response_format, i.e. md_json mode).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from structurer.llm.prompt import estimate_tokens


@dataclass
class Reply:
    """One answer: a record-like dict or raw text as the model's output, or an HTTP error (whose
    message is `content` when that is text)."""

    content: dict[str, Any] | str | None = None
    status: int = 200
    finish_reason: str = "stop"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Responder = Callable[[dict[str, Any]], Reply]


class FakeOpenAI:
    def __init__(self, responder: Responder | None = None, *, delay: float = 0.0) -> None:
        self.script: deque[Reply] = deque()
        self.responder = responder or (lambda body: Reply({}))
        self.delay = delay  # added to every reply: the benchmark's fixed latency
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def queue(self, replies: Iterable[Reply]) -> None:
        self.script.extend(replies)

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            scripted = self.script.popleft() if self.script else None
        try:
            reply = scripted or self.responder(body)
            time.sleep(self.delay + reply.delay)
            return reply
        finally:
            with self._lock:
                self.in_flight -= 1


def completion(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """An OpenAI chat.completion object answering `body` with `reply`."""
    text = reply.content if isinstance(reply.content, str) else json.dumps(reply.content or {})
    message: dict[str, Any] = {"role": "assistant", "content": None}
    if body.get("tools"):
        name = body["tools"][0]["function"]["name"]
        call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": text}}
        message["tool_calls"] = [call]
    elif "response_format" not in body and isinstance(reply.content, dict):
        message["content"] = f"Here is the record:\n```json\n{text}\n```"
    else:
        message["content"] = text
    prompt = sum(estimate_tokens(str(m.get("content") or "")) for m in body.get("messages", []))
    done = estimate_tokens(text)
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": done,
            "total_tokens": prompt + done,
        },
    }


def _handler_for(server: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            reply = server.answer(body, {k.lower(): v for k, v in self.headers.items()})
            if reply.status != 200:
                text = reply.content if isinstance(reply.content, str) else None
                err = {"error": {"message": text or f"fake {reply.status}", "type": "fake"}}
                payload = json.dumps(err).encode()
            else:
                payload = json.dumps(completion(body, reply), ensure_ascii=False).encode()
            try:
                self.send_response(reply.status)
                for name, value in {"content-type": "application/json", **reply.headers}.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left

    return Handler


def prompt_text(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content") or "") for m in body.get("messages", []))


def gold_reply(record: dict[str, Any]) -> dict[str, Any]:
    """What a correct model answers for a gold record: the asked fields only."""
    keys = ("level1", "level2", "name", "target")
    reply = copy.deepcopy({k: v for k, v in record.items() if k not in _NOT_ASKED})
    reply["indicators"] = [{k: ind.get(k) for k in keys} for ind in record["indicators"]]
    return reply


_NOT_ASKED = {"form_index", "year", "backend", "source", "findings", "meta", "expected_findings"}


def gold_responder(records: list[dict[str, Any]]) -> Responder:
    """Answers each form with the gold record whose project name the prompt contains (longest
    name wins, so a name inside another form's text does not capture it)."""
    by_name = sorted(records, key=lambda r: -len(r["project_name"] or ""))

    def respond(body: dict[str, Any]) -> Reply:
        text = _last_user(body)
        for record in by_name:
            if record["project_name"] and names_project(text, record["project_name"]):
                return Reply(gold_reply(record))
        unnamed = [r for r in records if not r["project_name"]]
        if len(records) == 1 and unnamed:  # a one-form document whose form names no project
            return Reply(gold_reply(unnamed[0]))
        return Reply("no gold record matches this form", status=400)

    return respond


def names_project(prompt: str, name: str) -> bool:
    """Whether a prompt's grid has `name` as a whole cell (mid-row or ending its row)."""
    return f":{name} |" in prompt or f":{name}\n" in prompt


def _last_user(body: dict[str, Any]) -> str:
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    return str(users[0].get("content") or "") if users else ""
