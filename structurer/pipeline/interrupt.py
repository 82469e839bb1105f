"""Ctrl-C comes out of a form's checks and serialization as itself.

Python turns SIGINT into a KeyboardInterrupt raised wherever the main thread happens to be.
pydantic-core calls Python for each `exclude_if` field as it serializes a record, and reports an
exception raised there as its own PydanticSerializationError, a ValueError: a Ctrl-C landing
there would be taken for that form's failure (an `extract.failed` record) and the run would go
on to the end. So around that step SIGINT is also remembered, and an error after it is the
interrupt. Only over Python's own handler, in the main thread: a handler someone else installed
(asyncio's, during an LLM run; a worker's, which ignores SIGINT) is left as it is.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def interrupt_kept() -> Iterator[None]:
    """Run the block so that Ctrl-C leaves it as KeyboardInterrupt, whatever a library inside
    made of it."""
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    pressed: list[int] = []

    def remember(signum: int, frame: FrameType | None) -> None:
        pressed.append(signum)
        signal.default_int_handler(signum, frame)  # raises KeyboardInterrupt

    signal.signal(signal.SIGINT, remember)
    try:
        yield
    except Exception:
        if pressed:
            raise KeyboardInterrupt from None
        raise
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
