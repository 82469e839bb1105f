"""Batch jobs: the provider's batch API instead of one request per form (OpenAI's /v1/files +
/v1/batches at half the price and without rate limits; vLLM's `run-batch` and several Chinese
providers read and write the same JSONL).

- `build_lines`: one line per form the cache does not already hold: `custom_id` (the form's job
  key), `method: POST`, `url: /v1/chat/completions` and the `body` captured from the live path
  (`client.request_body`: the same model, messages and schema `extract` sends).
- `submit`: uploads the lines (split at 50,000 lines / 190 MB), creates one batch per part and
  records the job in a JSON file (`BatchJob`): the batch ids, the settings that shape the
  requests, the prompt, schema and vocabulary, the input files and their sha256.
- `statuses`: each batch's state and counts.
- `collect_replies`: downloads the outputs (or reads local result files, e.g. vLLM run-batch's)
  into job key -> chat completion. `structurer batch collect` hands them to the LLM backend as the
  answer to each form's first call, so a reply is validated, checked and, if it fails, re-asked
  live exactly as in a live run; forms with no usable reply are asked live.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import openai
from openai.types import Batch
from openai.types.chat import ChatCompletion
from pydantic import ValidationError
from tenacity import Retrying, retry_if_exception, stop_after_attempt

from ..errors import LLMError, RunStopped, StructurerError
from ..io import atomic_write_text
from ..models import Document, Job
from .backend import LLMBackend
from .cache import ReplyCache
from .estimate import request_bodies
from .settings import LLMSettings
from .transport import describe, is_transient, retry_wait, setting_at_fault

log = logging.getLogger("structurer")

URL = "/v1/chat/completions"
MAX_LINES = 50_000  # OpenAI's limit of requests per batch
MAX_BYTES = 190 * 2**20  # under OpenAI's 200 MB per input file
REQUEST_SETTINGS = ("base_url", "model", "mode", "max_reasks", "max_tokens", "prompt")
DONE = {"completed", "expired", "cancelled", "failed"}
T = TypeVar("T")


@dataclass
class BatchJob:
    """What `batch submit` recorded: enough for `status` and `collect` to carry on."""

    batch_file: str
    request: dict[str, Any]  # the settings that shape each request (REQUEST_SETTINGS)
    prompt: str  # prompt version:template sha:vocabulary label
    schema: str
    files: list[dict[str, str]]  # path (absolute), sha256 of the decoded text
    vocab_files: list[str]
    forms: int  # in the input files
    lines: int  # sent in the batch (the cache held the others)
    batches: list[dict[str, Any]] = field(default_factory=list)  # id, input_file_id, lines
    created: str = ""

    def save(self, path: Path) -> None:
        atomic_write_text(path, json.dumps(asdict(self), ensure_ascii=False, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> BatchJob:
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise StructurerError(f"{path}: no batch job here (run `batch submit` first)") from None
        except (OSError, ValueError, TypeError) as exc:
            raise StructurerError(f"{path}: not a batch job file: {exc}") from None


def new_job(
    backend: LLMBackend,
    documents: Sequence[Document],
    vocab_files: Sequence[Path],
    batch_file: Path,
) -> BatchJob:
    s = backend.settings
    return BatchJob(
        batch_file=str(batch_file),
        request={k: getattr(s, k) for k in REQUEST_SETTINGS},
        prompt=prompt_label(backend),
        schema=backend.schema_hash,
        files=[{"path": str(Path(d.path).resolve()), "sha256": d.sha256} for d in documents],
        vocab_files=[str(Path(v).resolve()) for v in vocab_files],
        forms=sum(len(d.chunks) for d in documents),
        lines=0,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def prompt_label(backend: LLMBackend) -> str:
    return f"{backend.prompt.version}:{backend.prompt.sha}:{backend.vocab.label}"


def check_job(job: BatchJob, backend: LLMBackend, documents: Sequence[Document]) -> None:
    """The replies only fit if the requests would be built the same way today."""
    changed = [
        name
        for name, then, now in (
            ("prompt", job.prompt, prompt_label(backend)),
            ("reply schema", job.schema, backend.schema_hash),
            ("input files", [f["sha256"] for f in job.files], [d.sha256 for d in documents]),
        )
        if then != now
    ]
    if changed:
        raise StructurerError(
            f"the {' and '.join(changed)} changed since `batch submit`: the batch's replies "
            "answer other requests; submit again"
        )


def build_lines(backend: LLMBackend, jobs: Sequence[Job]) -> tuple[list[str], int]:
    """The batch file's lines for the forms the cache does not hold, and how many it holds."""
    unique = list({j.key: j for j in jobs}.values())  # a form given twice is asked once
    cache = ReplyCache(None if backend.settings.no_cache else backend.settings.cache_dir)
    try:
        todo = [j for j in unique if backend.from_cache(j, backend.settings, cache) is None]
    finally:
        cache.close()
    bodies = request_bodies(backend, todo)
    lines = [
        json.dumps(
            {"custom_id": j.key, "method": "POST", "url": URL, "body": body}, ensure_ascii=False
        )
        for j, body in zip(todo, bodies, strict=True)
    ]
    return lines, len(unique) - len(todo)


def parts(lines: Sequence[str]) -> list[list[str]]:
    """The lines split into batches within the provider's limits."""
    out: list[list[str]] = [[]]
    size = 0
    for line in lines:
        n = len(line.encode()) + 1
        if out[-1] and (len(out[-1]) >= MAX_LINES or size + n > MAX_BYTES):
            out.append([])
            size = 0
        out[-1].append(line)
        size += n
    return [p for p in out if p]


def submit(settings: LLMSettings, job: BatchJob, job_path: Path, lines: Sequence[str]) -> None:
    """Upload and start one batch per part; the job file is saved after each, so a failure
    half-way loses no started batch."""
    with admin_client(settings) as client:
        for i, part in enumerate(parts(lines), 1):
            data = ("\n".join(part) + "\n").encode()
            name = f"{Path(job.batch_file).stem}-{i}.jsonl"
            upload = admin_call(
                settings, "upload", client.files.create, file=(name, data), purpose="batch"
            )
            batch = admin_call(
                settings,
                "create batch",
                client.batches.create,
                input_file_id=upload.id,
                endpoint=URL,
                completion_window="24h",
                metadata={"tool": "structurer", "job": Path(job_path).name[:500]},
            )
            job.batches.append({"id": batch.id, "input_file_id": upload.id, "lines": len(part)})
            job.save(job_path)


def statuses(settings: LLMSettings, job: BatchJob) -> list[Batch]:
    with admin_client(settings) as client:
        return [
            admin_call(settings, "batch status", client.batches.retrieve, b["id"])
            for b in job.batches
        ]


def wait_until_done(settings: LLMSettings, job: BatchJob, poll: float) -> list[Batch]:
    """Poll every `poll` seconds until no batch is still running."""
    while True:
        found = statuses(settings, job)
        running = [b for b in found if b.status not in DONE]
        if not running:
            return found
        log.warning("%d batch(es) still running (%s); next look in %.0f s",
                    len(running), ", ".join(describe_batch(b) for b in running), poll)  # fmt: skip
        time.sleep(poll)


def describe_batch(batch: Batch) -> str:
    counts = batch.request_counts
    done = f" {counts.completed}/{counts.total} done, {counts.failed} failed" if counts else ""
    return f"{batch.id}: {batch.status}{done}"


@dataclass
class Replies:
    """job key -> the reply to the form's first request; job key -> why there is none."""

    ok: dict[str, ChatCompletion] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    unreadable_lines: int = 0

    def read(self, text: str) -> None:
        """Lines of a batch output or error file (OpenAI's and vLLM's format)."""
        for line in text.splitlines():
            if line.strip():
                self._line(line)

    def _line(self, line: str) -> None:
        try:
            entry = json.loads(line)
            key = str(entry["custom_id"])
        except (ValueError, KeyError, TypeError):
            self.unreadable_lines += 1
            return
        response = entry.get("response") or {}
        body = response.get("body")
        if response.get("status_code") == 200 and isinstance(body, dict):
            try:
                self.ok[key] = ChatCompletion.model_validate(body)
                return
            except ValidationError as exc:
                self.failed[key] = f"not a chat completion: {str(exc).splitlines()[0]}"
                return
        error = entry.get("error") or (body or {}).get("error") or {}
        message = error.get("message") if isinstance(error, dict) else str(error)
        self.failed[key] = f"HTTP {response.get('status_code', '?')}: {message or 'no reply'}"


def collect_replies(
    settings: LLMSettings, job: BatchJob, results: Sequence[Path] = ()
) -> tuple[Replies, list[Batch]]:
    """The replies of local result files, else of the job's finished batches (raises if one is
    still running or failed as a whole)."""
    replies = Replies()
    if results:
        for path in results:
            replies.read(path.read_text(encoding="utf-8"))
        return replies, []
    if not job.lines:
        return replies, []  # every form was in the cache at submit
    if not job.batches:
        raise StructurerError(
            "this job was written with --dry-run: nothing was sent; pass the result file of the "
            "run (--results FILE), e.g. from `vllm run-batch`"
        )
    found = statuses(settings, job)
    _all_finished(found)
    with admin_client(settings) as client:
        for batch in found:
            for file_id in (batch.output_file_id, batch.error_file_id):
                if file_id:
                    content = admin_call(settings, "download", client.files.content, file_id)
                    replies.read(content.text)
    return replies, found


def _all_finished(found: Sequence[Batch]) -> None:
    running = [b for b in found if b.status not in DONE]
    if running:
        raise StructurerError(
            "not finished yet: " + "; ".join(describe_batch(b) for b in running)
            + " (see `batch status`, or collect with --wait)"
        )  # fmt: skip
    failed = [b for b in found if b.status == "failed"]
    if failed:
        errors = [e.message for b in failed for e in ((b.errors and b.errors.data) or [])]
        raise StructurerError(
            f"batch {failed[0].id} failed as a whole: {'; '.join(filter(None, errors))[:300]}"
            " — fix the cause and submit again"
        )


def admin_client(settings: LLMSettings) -> openai.OpenAI:
    """A sync client for the few file and batch requests; retries are `admin_call`'s."""
    return openai.OpenAI(
        api_key=settings.api_key,
        base_url=settings.base_url,
        timeout=settings.timeout,
        max_retries=0,
    )


def admin_call(settings: LLMSettings, what: str, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    """One file or batch request under the run's retry rules; a refused key or a missing batch
    API is a RunStopped naming the fix, anything else an LLMError saying what failed."""
    retrying = Retrying(
        stop=stop_after_attempt(settings.http_retries + 1),
        retry=retry_if_exception(is_transient),
        wait=retry_wait,
        reraise=True,
    )
    try:
        return retrying(fn, *args, **kw)
    except openai.APIStatusError as exc:
        if exc.status_code in (401, 403):
            raise RunStopped(setting_at_fault(settings, exc.status_code, exc)) from None
        if exc.status_code in (404, 405):
            raise RunStopped(
                f"{what}: {settings.base_url} has no OpenAI batch API ({describe(exc)}); write "
                "the batch file with `batch submit --dry-run` for a batch runner (vLLM run-batch)"
                ", or use `extract`"
            ) from None
        raise LLMError(f"{what} failed: {describe(exc)}") from None
    except openai.APIError as exc:
        raise LLMError(f"{what} failed: {describe(exc)}; check --base-url") from None
