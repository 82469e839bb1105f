"""One error root for the package; only the CLI turns these into messages and exit codes.

StructurerError
 ├── InputError        a file that cannot be read as a document (missing, empty, binary, undecodable)
 ├── NoFormsError      a readable document with no 申报表 title in it
 ├── RecordsError      a records file that is not valid JSON Lines of form records
 └── LLMError          the LLM backend could not produce a record (carries the form index)
"""

from __future__ import annotations


class StructurerError(Exception):
    """Base of every error the package raises on purpose."""


class InputError(StructurerError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class NoFormsError(StructurerError):
    def __init__(self, path: str) -> None:
        super().__init__(f"{path}: no 财政项目支出绩效目标申报表 found in this document")
        self.path = path


class RecordsError(StructurerError):
    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = path
        self.line = line


class LLMError(StructurerError):
    def __init__(self, message: str, *, form_index: int | None = None) -> None:
        super().__init__(message)
        self.form_index = form_index
