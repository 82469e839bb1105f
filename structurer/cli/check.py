"""Commands: placeholder until its owner lands it."""

from . import app  # noqa: F401
