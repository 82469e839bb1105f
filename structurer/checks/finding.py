"""One way to make a finding: every check module builds its findings with `finding()`."""

from __future__ import annotations

from ..models import Finding, Severity


def finding(
    severity: Severity, code: str, message: str, paths: list[str], **values: object
) -> Finding:
    """A finding whose `values` are strings (numbers as written) or lists/dicts of them."""
    return Finding(
        severity=severity,
        code=code,
        message=message,
        paths=paths,
        values={k: v if isinstance(v, list | dict) else str(v) for k, v in values.items()},
    )
