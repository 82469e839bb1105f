"""One error root for the package; only the CLI turns these into messages and exit codes.

StructurerError
 ├── InputError        a file that cannot be read as a document (missing, empty, binary, undecodable)
 ├── NoFormsError      a readable document with no 申报表 title in it
 ├── RecordsError      a records file that is not valid JSON Lines of form records
 ├── OutputError       an output that cannot be written (a directory, an input, a full disk)
 ├── VocabularyError   a template vocabulary file that cannot be read or names unknown fields
 └── LLMError          the LLM backend could not produce a record (carries the form index)
      └── RunStopped    the whole run must stop (bad key or model, endpoint down): the forms not
           │            done stay pending in the journal; exit code 2
           └── BudgetReached   --max-cost reached: no new request is sent; exit code 3
"""

from __future__ import annotations


class StructurerError(Exception):
    """Base of every error the package raises on purpose."""

    exit_code = 2  # what the CLI exits with when this error ends a command


class InputError(StructurerError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class NoFormsError(StructurerError):
    def __init__(self, path: str, set_aside: list[str] | None = None) -> None:
        aside = f" (set aside as not project forms: {'; '.join(set_aside)})" if set_aside else ""
        super().__init__(
            f"{path}: no project performance-target form found in this document{aside}"
        )
        self.path = path


class RecordsError(StructurerError):
    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = path
        self.line = line


class OutputError(StructurerError):
    """An output that may not or cannot be written; whatever was at the path is left as it was."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class VocabularyError(StructurerError):
    """A vocabulary TOML file is unreadable, has an unknown key or names an unknown field path."""


class LLMError(StructurerError):
    def __init__(self, message: str, *, form_index: int | None = None) -> None:
        super().__init__(message)
        self.form_index = form_index


class RunStopped(LLMError):
    """Every further request would fail the same way: the run stops at once, naming the setting
    to fix. Forms already done are kept (journalled); the others stay pending for a rerun."""


class BudgetReached(RunStopped):
    """The spend reached --max-cost: nothing more is sent; a rerun finishes the pending forms."""

    exit_code = 3
