"""The reading budget of every input format, in one place (the README's Input formats section
states the same numbers): what a file may ask of memory and time before it is read.

Each limit is checked before the memory is spent, from what the file declares (a zip member's
size, a JSON nesting, a table's offsets, a page's content streams) or while reading, counting as
it goes (rows, glyphs). A file over a limit is refused with one line naming the limit
(LimitError); a file a library cannot read is DamagedError. Both are InputErrors: alone, exit 2;
in a folder, that document's error while the others go on, and the run's exit status says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...errors import InputError

# --- every format ---
# A JSON document deeper than this is no OCR output (theirs nest under 15 levels).
JSON_DEPTH = 64
# JSON is parsed whole; Python holds ~10 bytes per byte of it.
JSON_BYTES = 64 * 1024 * 1024
# Spans and offsets of a table's cells: spans are clamped as the markdown reader clamps HTML spans
# (read/layouts/markdown.py, SPAN_CELLS_PER_CELL); the grid may hold at most
# tables.GRID_POSITIONS_FLOOR positions or GRID_POSITIONS_PER_CELL per cell.

# --- spreadsheets ---
# The XML inside an .xlsx (all parts, uncompressed, as the zip directory states them).
XLSX_XML_BYTES = 64 * 1024 * 1024
# One part (a sheet, the shared strings): openpyxl holds a part's strings at once.
XLSX_PART_BYTES = 32 * 1024 * 1024
# Rows read per sheet (.xls cannot hold more than 65,536).
SHEET_ROWS = 65_536
# Characters in one cell: Excel's own limit.
CELL_CHARS = 32_767
# Cells under merged ranges per sheet, once each range is cut to the sheet's used extent.
MERGED_CELLS = 250_000
# An .xls is read whole by xlrd.
XLS_BYTES = 32 * 1024 * 1024

# --- PDF, per page ---
# Decoded content-stream bytes interpreted (the page's own streams and every form XObject each
# time it is drawn): pdfminer interprets 40-100k operators a second, 4 bytes each at least
# (`q Q`: 1 MiB of them takes ~3 s). Most real pages hold under 100 KB, but 7 of the 140 pages of
# 广州市生态环境局's 2026 budget hold 358-911 KB (0.75 s for 793 KB): a page over the limit is
# left out with a warning, and the rest of the document is read (read/formats/pdf.py).
PDF_CONTENT_BYTES = 1024 * 1024
# Glyphs (characters drawn): pdfminer keeps ~2 KB per glyph.
PDF_GLYPHS = 60_000
# Paths drawn (ruling lines, rectangles, curves).
PDF_RULINGS = 6_000
# Crossings of distinct horizontal and vertical rulings the table finder searches (its search
# grows faster than the crossings: 60 x 60 lines took 2 s). Real forms have a few hundred.
PDF_GRID_CROSSINGS = 2_500


class LimitError(InputError):
    """A file over one of the reading limits above, refused before the memory is spent."""


class DamagedError(InputError):
    """A file of a format structurer reads that its library could not read (damaged, cut off,
    locked, of the wrong type inside): it may be a document, so a folder run counts it."""


def load_json(path: Path) -> Any:
    """A JSON file within the size and nesting limits, or InputError saying why not."""
    size = path.stat().st_size
    if size > JSON_BYTES:
        raise LimitError(
            str(path), f"a JSON file of {size:,} bytes (at most {JSON_BYTES:,} are read)"
        )
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DamagedError(str(path), f"not valid JSON ({exc})") from None
    except RecursionError:  # deeper than the interpreter's own limit
        raise LimitError(str(path), f"JSON nested more than {JSON_DEPTH} levels deep") from None
    if _too_deep(data):
        raise LimitError(str(path), f"JSON nested more than {JSON_DEPTH} levels deep")
    return data


def _too_deep(data: Any) -> bool:
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > JSON_DEPTH:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False
