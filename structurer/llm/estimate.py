"""What a run would send and cost, before anything is sent (`extract --dry-run`, `batch submit
--dry-run`).

Prompt tokens are counted on the exact request the live path sends first (`request_body`: the
messages plus the schema as tools or response_format), completion tokens on the JSON a model
would write for the form's rule record (the rules read the same grid offline; when they cannot,
the grid's own text), both counted by `token_counter`: tiktoken's encoding of the model (o200k_base
for a model tiktoken does not know) when tiktoken and that encoding's file are installed
(`structurer[tokens]`, the file in tiktoken's cache: TIKTOKEN_CACHE_DIR), else the tokenizer-free
`estimate_tokens`; the table says which. Nothing is downloaded. Forms the cache would
serve cost nothing; the hybrid backend sends only the forms its rules cannot read. "At most"
assumes every re-ask is used (each sends the prompt again with the previous reply and the
problems) and, with a fallback model, that every form is escalated.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from ..models import FormRecord, Job
from .backend import LLMBackend, run_coroutine
from .cache import ReplyCache
from .client import request_body
from .hybrid import HybridBackend
from .prompt import estimate_tokens, render_grid
from .schema import FormDraft
from .settings import LLMSettings
from .shadow import rules_record
from .transport import request_tokens

log = logging.getLogger("structurer")
REASK_TOKENS = 150  # the problem list a re-ask adds (a few lines naming fields and fixes)


@dataclass(frozen=True)
class TokenCounter:
    """How a count is made, said in the estimate's table, and the function making it."""

    method: str
    count: Callable[[str], int]


ESTIMATE = TokenCounter("estimated: 1 token per CJK character, 1 per 4 others", estimate_tokens)
FALLBACK_ENCODING = "o200k_base"  # for a model tiktoken does not know: the newest OpenAI one


def token_counter(model: str) -> TokenCounter:
    """tiktoken's count for `model` when its encoding is installed, else the estimate."""
    try:
        import tiktoken
    except ImportError:
        return ESTIMATE
    try:
        name, own = tiktoken.encoding_name_for_model(model), True
    except KeyError:
        name, own = FALLBACK_ENCODING, False
    if not encoding_installed(name):
        return ESTIMATE
    encoding = tiktoken.get_encoding(name)
    method = f"counted by tiktoken {name}" + ("" if own else f", not {model}'s own tokenizer")
    return TokenCounter(method, lambda text: len(encoding.encode(text, disallowed_special=())))


def encoding_installed(name: str) -> bool:
    """Whether tiktoken would read the encoding `name` from its cache, as it does offline,
    rather than download it (the paths are tiktoken's own: tiktoken/load.py)."""
    blob = f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
    folder = os.environ.get("TIKTOKEN_CACHE_DIR", os.environ.get("DATA_GYM_CACHE_DIR"))
    if folder is None:
        folder = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if not folder:  # "" turns tiktoken's cache off: every use downloads
        return False
    return (Path(folder) / hashlib.sha1(blob.encode()).hexdigest()).is_file()


@dataclass
class Tokens:
    calls: int = 0
    prompt: int = 0
    completion: int = 0

    def add(self, calls: int, prompt: int, completion: int) -> None:
        self.calls += calls
        self.prompt += prompt
        self.completion += completion


@dataclass
class Estimate:
    settings: LLMSettings
    counter: TokenCounter = ESTIMATE
    forms: int = 0  # in the input
    to_llm: int = 0  # the backend would send (hybrid: the forms the rules cannot read)
    cached: int = 0  # of those, served by the cache
    expected: Tokens = field(default_factory=Tokens)  # one call per form
    at_most: Tokens = field(default_factory=Tokens)  # every re-ask used

    def add_form(self, prompt: int, completion: int) -> None:
        reasks = self.settings.max_reasks
        self.expected.add(1, prompt, completion)
        # the k-th re-ask resends the prompt plus k earlier replies and problem lists
        history = reasks * (reasks + 1) // 2 * (completion + REASK_TOKENS)
        self.at_most.add(reasks + 1, (reasks + 1) * prompt + history, (reasks + 1) * completion)

    def cost(self, tokens: Tokens, model: str | None = None) -> float | None:
        return self.settings.cost(tokens.prompt, tokens.completion, model)

    def rows(self) -> list[tuple[str, str, str]]:
        s = self.settings
        rows = [
            ("model", f"{s.model} ({s.mode})", ""),
            ("forms", str(self.forms), ""),
            ("sent to the LLM", str(self.to_llm), ""),
            ("served by the cache", str(self.cached), ""),
            ("calls", f"{self.expected.calls:,}", f"{self.at_most.calls:,}"),
            ("prompt tokens", f"{self.expected.prompt:,}", f"{self.at_most.prompt:,}"),
            ("completion tokens", f"{self.expected.completion:,}", f"{self.at_most.completion:,}"),
        ]
        expected, at_most = self.cost(self.expected), self.cost(self.at_most)
        if expected is not None and at_most is not None:
            rows.append(("cost", f"{expected:.4f}", f"{at_most:.4f}"))
        if s.fallback_model:
            fallback = self.cost(self.at_most, s.fallback_model)
            rows.append(
                (f"fallback {s.fallback_model}", "only forms left with problems",
                 f"{self.at_most.calls:,} calls" + (f", {fallback:.4f}" if fallback else ""))
            )  # fmt: skip
        return rows

    def table(self, *, sending: bool = False) -> Table:
        """`sending`: the requests are about to be sent (batch submit), else a dry run."""
        what = "to send" if sending else "dry run: nothing sent"
        table = Table(title=f"{what} (tokens {self.counter.method})")
        for name in ("", "expected (1 call per form)", "at most (every re-ask)"):
            table.add_column(name, justify="left" if not name else "right")
        for row in self.rows():
            table.add_row(*row)
        return table


def estimate(backend: Any, jobs: Sequence[Job]) -> Estimate:
    """The estimate for running `backend` (llm or hybrid) over `jobs`; sends nothing."""
    llm: LLMBackend = backend.llm if isinstance(backend, HybridBackend) else backend
    result = Estimate(llm.settings, token_counter(llm.settings.model), forms=len(jobs))
    drafts = {j.key: _rule_record(backend, llm, j) for j in jobs}
    if isinstance(backend, HybridBackend):
        jobs = [j for j in jobs if drafts[j.key][1]]
    result.to_llm = len(jobs)
    cache = ReplyCache(None if llm.settings.no_cache else llm.settings.cache_dir, create=False)
    try:
        todo = [j for j in jobs if llm.from_cache(j, llm.settings, cache) is None]
    finally:
        cache.close()
    result.cached = len(jobs) - len(todo)
    count = result.counter.count
    for job, prompt in zip(todo, prompt_tokens(llm, todo, count), strict=True):
        result.add_form(prompt, reply_tokens(job, drafts[job.key][0], count))
    return result


def prompt_tokens(
    llm: LLMBackend, jobs: Sequence[Job], count: Callable[[str], int] = estimate_tokens
) -> list[int]:
    """Prompt tokens of each job's first request. The first job's request is built by the live
    path; the others differ from it only in the user message (the instructions and the schema
    are the same for every form), so each count is that request's with its own user message:
    exact enough for an estimate, and fast at 100,000 forms."""
    if not jobs:
        return []
    [first] = request_bodies(llm, jobs[:1])
    base = request_tokens(first, count) - count(_user_text(first["messages"]))
    return [base + count(_user_text(llm.prompt.messages(j.chunk, j.grid, llm.vocab))) for j in jobs]


def _user_text(messages: list[dict[str, Any]]) -> str:
    return "".join(str(m.get("content") or "") for m in messages if m.get("role") == "user")


def request_bodies(llm: LLMBackend, jobs: Sequence[Job]) -> list[dict[str, Any]]:
    """Each job's first request body (what a batch line carries), built by the live path."""
    bodies: list[dict[str, Any]] = []

    async def build() -> None:
        context = {"vocab": llm.vocab}
        for job in jobs:
            messages = llm.prompt.messages(job.chunk, job.grid, llm.vocab)
            bodies.append(await request_body(llm.settings, messages, context))

    run_coroutine(build())
    return bodies


def reply_tokens(
    job: Job, record: FormRecord | None, count: Callable[[str], int] = estimate_tokens
) -> int:
    """Completion tokens: the reply JSON for the rule record, else the grid's text."""
    if record is None:
        return count(render_grid(job.grid))
    draft = FormDraft.model_validate(record.model_dump())
    return count(draft.model_dump_json())


def _rule_record(backend: Any, llm: LLMBackend, job: Job) -> tuple[FormRecord | None, bool]:
    """The rule record and whether the backend sends the form (hybrid: only when the rule record
    has errors; llm: always, the rule record only sizes the reply)."""
    if isinstance(backend, HybridBackend):
        read = backend.read_with_rules(job)
        return read.record, read.record is None or read.score.errors > 0
    return rules_record(job, llm.vocab), True
