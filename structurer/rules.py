"""Rule-based extractor (being written)."""

from __future__ import annotations

from .models import Chunk, FormRecord, Grid


def project_name_of(grid: Grid) -> str | None:
    return None


def extract_form(chunk: Chunk, grid: Grid) -> FormRecord:
    return FormRecord(form_index=chunk.index, year=chunk.year)
