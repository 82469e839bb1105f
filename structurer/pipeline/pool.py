"""Forms in worker processes: the rules and checks on every core.

Each worker gets the backend once (pickled at start) and then batches of one document's chunks;
it sends back `FormResult`s (JSON lines and counts), never grids or records, so little crosses
the process boundary. Workers also read and split the documents ahead of the main process (on
two cores, splitting in the main process would take ~15% of the time from the workers). Only backends that say `parallel = True` (pure, picklable, no network:
the rules) run here; LLM backends have their own concurrency.

Workers are forked where the platform can (Linux): a worker then starts in milliseconds with the
package already imported, and a caller's script needs no `if __name__ == "__main__"` guard
(forkserver and spawn re-run the main module: ~1.4 s and a crash for unguarded scripts, measured).
The children only compute and never print, so the parent's threads (progress bar) do not matter
to them. Elsewhere (macOS, Windows) spawn.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from ..errors import StructurerError
from ..models import Backend, Chunk, Document
from .forms import FormResult, run_forms

_backend: Backend | None = None  # the worker's backend, set once by _start


def _start(backend: Backend) -> None:
    global _backend
    _backend = backend
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def _work(document: Document, chunks: Sequence[Chunk]) -> list[FormResult]:
    assert _backend is not None
    return run_forms(_backend, document, chunks)


def _load(loader: Callable[[], Document]) -> Document | None:
    """A document read and split in a worker; None when it cannot be (the main process then
    loads it itself, to report the error as it is: exceptions do not all survive pickling)."""
    try:
        return loader()
    except StructurerError:
        return None


def can_run_in_processes(backend: Backend) -> bool:
    return bool(getattr(backend, "parallel", False))


class Pool:
    def __init__(self, backend: Backend, workers: int) -> None:
        context = _context()
        self._executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_start, initargs=(backend,)
        )
        self.workers = workers

    def submit(self, document: Document, chunks: Sequence[Chunk]) -> Future[list[FormResult]]:
        return self._executor.submit(_work, document, list(chunks))

    def load(self, loader: Callable[[], Document]) -> Future[Document | None]:
        return self._executor.submit(_load, loader)

    def close(self, *, cancel: bool = False) -> None:
        self._executor.shutdown(wait=not cancel, cancel_futures=cancel)


def _context() -> multiprocessing.context.BaseContext:
    import sys

    fork = sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if fork else "spawn")
