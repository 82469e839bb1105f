"""A local OpenAI-compatible server for the LLM tests and benchmarks: real sockets, real client.

It serves POST /v1/chat/completions on 127.0.0.1 from a scripted queue of `Reply`s (consumed in
order), falling back to a `responder(body) -> Reply` function; it records every request (with the
time it arrived) and the most requests it had in flight at once. The reply's shape follows the
request: a tool call when the request offered tools, else message content (fenced like a chatty
model when the request set no response_format, i.e. md_json mode). Usage counts the prompt as
providers bill it: messages plus the schema sent as tools or response_format (estimated).

`StandIn` is a model of known quality for the eval matrix: it answers the gold with each asked
value wrong with a seeded probability p, and bills a fixed usage per call (so a row's prices give
a known cost per call); `by_model` serves several from one server, told apart by model name.

It also stands in for the batch API: POST /v1/files (multipart upload), GET
/v1/files/{id}/content, POST /v1/batches and GET /v1/batches/{id}. A batch is answered line by
line by the same responder in a background thread after `batch_delay` seconds, into an output
file (status 200 lines) and an error file (the others), in OpenAI's format. `batch_api=False`
answers those routes with 404, like an endpoint without a batch API.
"""

from __future__ import annotations

import copy
import email.parser
import email.policy
import itertools
import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from structurer.llm.prompt import estimate_tokens
from structurer.llm.transport import request_tokens


@dataclass
class Reply:
    """One answer: a record-like dict or raw text as the model's output, or an HTTP error (whose
    message is `content` when that is text)."""

    content: dict[str, Any] | str | None = None
    status: int = 200
    finish_reason: str = "stop"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    usage: tuple[int, int] | None = None  # (prompt, completion) tokens billed, else estimated


Responder = Callable[[dict[str, Any]], Reply]


class FakeOpenAI:
    def __init__(
        self,
        responder: Responder | None = None,
        *,
        delay: float = 0.0,
        batch_delay: float = 0.0,
        batch_api: bool = True,
    ) -> None:
        self.script: deque[Reply] = deque()
        self.responder = responder or (lambda body: Reply({}))
        self.delay = delay  # added to every reply: the benchmark's fixed latency
        self.requests: list[dict[str, Any]] = []
        self.arrived: list[float] = []  # time.monotonic() of each request in `requests`
        self.headers: list[dict[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.batch_delay = batch_delay
        self.batch_api = batch_api
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_bodies: list[dict[str, Any]] = []  # every request answered inside a batch
        self._ids = itertools.count(1)
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
            self.arrived.append(time.monotonic())
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

    # --- the batch API ---

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def store_file(self, data: bytes, name: str) -> dict[str, Any]:
        file_id = self.new_id("file")
        self.files[file_id] = data
        return {"id": file_id, "object": "file", "bytes": len(data), "created_at": _now(),
                "filename": name, "purpose": "batch", "status": "processed"}  # fmt: skip

    def create_batch(self, request: dict[str, Any]) -> dict[str, Any]:
        batch = {
            "id": self.new_id("batch"), "object": "batch", "endpoint": request["endpoint"],
            "input_file_id": request["input_file_id"], "completion_window": "24h",
            "created_at": _now(), "status": "in_progress", "metadata": request.get("metadata"),
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
        }  # fmt: skip
        self.batches[batch["id"]] = batch
        threading.Thread(target=self._run_batch, args=(batch,), daemon=True).start()
        return batch

    def _run_batch(self, batch: dict[str, Any]) -> None:
        time.sleep(self.batch_delay)
        lines = self.files[batch["input_file_id"]].decode().splitlines()
        ok, failed = [], []
        for n, line in enumerate(lines):
            request = json.loads(line)
            body = request["body"]
            with self._lock:
                self.batch_bodies.append(body)
            reply = self.responder(body)
            answer = completion(body, reply) if reply.status == 200 else _error(reply)
            out = {"id": f"batch_req_{n}", "custom_id": request["custom_id"], "error": None,
                   "response": {"status_code": reply.status, "request_id": f"req_{n}",
                                "body": answer}}  # fmt: skip
            (ok if reply.status == 200 else failed).append(json.dumps(out, ensure_ascii=False))
        for key, found in (("output_file_id", ok), ("error_file_id", failed)):
            if found:
                batch[key] = self.store_file("\n".join(found).encode() + b"\n", key)["id"]
        batch["request_counts"] = {"total": len(lines), "completed": len(ok), "failed": len(failed)}
        batch["completed_at"] = _now()
        batch["status"] = "completed"


def _now() -> int:
    return int(time.time())


def _error(reply: Reply) -> dict[str, Any]:
    """An OpenAI error body; its message is the reply's content when that is text."""
    text = reply.content if isinstance(reply.content, str) else None
    return {"error": {"message": text or f"fake {reply.status}", "type": "fake"}}


def completion(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """An OpenAI chat.completion object answering `body` with `reply`."""
    text = reply.content if isinstance(reply.content, str) else _json(reply.content or {})
    message: dict[str, Any] = {"role": "assistant", "content": None}
    if body.get("tools"):
        name = body["tools"][0]["function"]["name"]
        call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": text}}
        message["tool_calls"] = [call]
    elif "response_format" not in body and isinstance(reply.content, dict):
        message["content"] = f"Here is the record:\n```json\n{text}\n```"
    else:
        message["content"] = text
    prompt, done = reply.usage or (request_tokens(body), estimate_tokens(text))
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
            data = self.rfile.read(length)
            if self.path.endswith("/chat/completions"):
                self._chat(json.loads(data or b"{}"))
            elif not server.batch_api:
                self._send(404, _error(Reply(status=404)))
            elif self.path.endswith("/files"):
                name, content = _upload(self.headers.get("content-type", ""), data)
                self._send(200, server.store_file(content, name))
            elif self.path.endswith("/batches"):
                self._send(200, server.create_batch(json.loads(data)))
            else:
                self._send(404, _error(Reply(status=404)))

        def do_GET(self) -> None:
            content = re.search(r"/files/([^/]+)/content$", self.path)
            batch = re.search(r"/batches/([^/]+)$", self.path)
            if not server.batch_api:
                self._send(404, _error(Reply(status=404)))
            elif content and content.group(1) in server.files:
                self._send(200, server.files[content.group(1)], "application/octet-stream")
            elif batch and batch.group(1) in server.batches:
                self._send(200, server.batches[batch.group(1)])
            else:
                self._send(404, _error(Reply(status=404)))

        def _chat(self, body: dict[str, Any]) -> None:
            reply = server.answer(body, {k.lower(): v for k, v in self.headers.items()})
            answer = completion(body, reply) if reply.status == 200 else _error(reply)
            self._send(reply.status, answer, headers=reply.headers)

        def _send(
            self,
            status: int,
            answer: dict[str, Any] | bytes,
            content_type: str = "application/json",
            headers: dict[str, str] | None = None,
        ) -> None:
            payload = (
                answer
                if isinstance(answer, bytes)
                else json.dumps(answer, ensure_ascii=False).encode()
            )
            try:
                self.send_response(status)
                for name, value in {"content-type": content_type, **(headers or {})}.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left

    return Handler


def _upload(content_type: str, data: bytes) -> tuple[str, bytes]:
    """The file of a multipart/form-data upload: (filename, content)."""
    message = email.parser.BytesParser(policy=email.policy.default).parsebytes(
        f"content-type: {content_type}\r\n\r\n".encode() + data
    )
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            return part.get_filename() or "upload", part.get_payload(decode=True)
    raise ValueError("no file in the upload")


def prompt_text(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content") or "") for m in body.get("messages", []))


def gold_reply(record: dict[str, Any]) -> dict[str, Any]:
    """What a correct model answers for a gold record: the asked fields only."""
    keys = ("level1", "level2", "name", "target")
    reply = copy.deepcopy({k: v for k, v in record.items() if k not in _NOT_ASKED})
    for key in ("department_code", "implementing_unit_code"):  # asked: null where none printed
        reply.setdefault(key, None)
    reply["indicators"] = [{k: ind.get(k) for k in keys} for ind in record["indicators"]]
    return reply


_NOT_ASKED = {
    "form_index", "year", "backend", "source", "findings", "meta", "expected_findings",
    "extra_fields",
}  # fmt: skip


def gold_responder(records: list[dict[str, Any]]) -> Responder:
    """Answers each form with the gold record whose project name the prompt contains (longest
    name wins, so a name inside another form's text does not capture it); failing that (a name
    wrapped over lines), the gold record most of whose values the prompt holds. A list table
    sent whole for one project is read as its note says: only the rows it names."""
    by_name = sorted(records, key=lambda r: -len(r["project_name"] or ""))

    def respond(body: dict[str, Any]) -> Reply:
        text = project_rows(_last_user(body))
        for record in by_name:
            if record["project_name"] and names_project(text, record["project_name"]):
                return Reply(gold_reply(record))
        unnamed = [r for r in records if not r["project_name"]]
        if len(records) == 1 and unnamed:  # a one-form document whose form names no project
            return Reply(gold_reply(unnamed[0]))
        best = best_by_content(records, text)
        if best is not None:
            return Reply(gold_reply(best))
        return Reply("no gold record matches this form", status=400)

    return respond


_PROJECT_ROWS = re.compile(r"only the project in rows R(\S+) to R(\S+) ")


def project_rows(prompt: str) -> str:
    """The prompt's rows from the first to the last its list-table note names (the whole prompt
    when it has no such note), as a model that follows the note reads them."""
    m = _PROJECT_ROWS.search(prompt)
    if m is None:
        return prompt
    lines = prompt.split("\n")
    first = next(k for k, line in enumerate(lines) if line.startswith(f"R{m.group(1)} "))
    last = next(k for k, line in enumerate(lines) if line.startswith(f"R{m.group(2)} "))
    return "\n".join(lines[first : last + 1]) + "\n"


def best_by_content(records: list[dict[str, Any]], prompt: str) -> dict[str, Any] | None:
    """The record most of whose values (names, units, amounts, indicator names) the prompt holds,
    spaces aside; None when none holds any."""
    text = "".join(prompt.split())

    def held(record: dict[str, Any]) -> int:
        values = [record.get(k) for k in ("project_name", "department", "implementing_unit")]
        values += [i.get("name") for i in record.get("indicators") or []]
        values += [v for v in (record.get("funding") or {}).values() if v not in ("元", "万元")]
        return sum("".join(str(v).split()) in text for v in values if v)

    scored = [(held(r), -k) for k, r in enumerate(records)]
    score, k = max(scored, default=(0, 0))
    return records[-k] if score > 0 else None


@dataclass
class StandIn:
    """A model of known quality: it answers each form with its gold record (`gold_responder`),
    each asked value — header field, amount, unit, goal, indicator part — made wrong with
    probability `p`. The draw is seeded by (seed, model, project, path): the same stand-in
    answers a form the same way every time, re-asks included, and values are wrong independently.
    Every call bills `usage` (prompt, completion) tokens when given."""

    records: list[dict[str, Any]]
    p: float = 0.0
    seed: int = 0
    usage: tuple[int, int] | None = None

    def __call__(self, body: dict[str, Any]) -> Reply:
        reply = gold_responder(self.records)(body)
        if reply.status != 200 or not isinstance(reply.content, dict):
            return reply
        form = f"{self.seed}|{body.get('model')}|{reply.content.get('project_name')}"
        wrong = lambda path: random.Random(f"{form}|{path}").random() < self.p  # noqa: E731
        return Reply(spoil(reply.content, wrong), usage=self.usage)


def spoil(reply: dict[str, Any], wrong: Callable[[str], bool]) -> dict[str, Any]:
    """A copy of a gold reply with each value whose path `wrong` picks made wrong (never right by
    chance: text gets a character, a date moves, an amount gains 1, a unit swaps)."""
    out = copy.deepcopy(reply)
    for key, value in reply.items():
        if key not in ("funding", "indicators") and wrong(key):
            out[key] = _spoiled(key, value)
    for key, value in (reply.get("funding") or {}).items():
        if wrong(f"funding.{key}"):
            out["funding"][key] = _spoiled(key, value)
    for i, ind in enumerate(reply.get("indicators") or []):
        for key, value in ind.items():
            if wrong(f"indicators[{i}].{key}"):
                out["indicators"][i][key] = _spoiled(key, value)
    return out


def _spoiled(key: str, value: Any) -> Any:
    if key == "unit":
        return "万元" if value == "元" else "元"
    if key.endswith("_date"):
        return "1999-12-31"
    if key in _AMOUNTS:
        return str(int(float(value or 0)) + 1) + ".37"
    return f"{value or ''}误"


_AMOUNTS = {"project_total", "project_fiscal", "project_other", "annual_total",
            "current_appropriation", "prior_carryover", "annual_other"}  # fmt: skip


def by_model(stand_ins: dict[str, Responder]) -> Responder:
    """One server, several models: each request answered by the responder of its model."""

    def respond(body: dict[str, Any]) -> Reply:
        responder = stand_ins.get(str(body.get("model")))
        return responder(body) if responder else Reply(f"no model {body.get('model')}", 404)

    return respond


def names_project(prompt: str, name: str) -> bool:
    """Whether a prompt's grid has `name` as a whole cell (mid-row or ending its row)."""
    return f":{name} |" in prompt or f":{name}\n" in prompt


def _last_user(body: dict[str, Any]) -> str:
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    return str(users[0].get("content") or "") if users else ""


def _json(value: Any) -> str:
    """JSON as a model writes it: characters as themselves, not \\u escapes."""
    return json.dumps(value, ensure_ascii=False)
