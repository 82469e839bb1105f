"""A PDF page's layout made within the reading limits (limits.PDF_*).

pdfplumber lays a page out on first use of its objects, with pdfminer interpreting every content
stream. A 30 KB file can hold a 30 MB content stream (pdfminer interprets ~0.5 MB/s) and 7.8 KB
can draw two million glyphs (~2 KB each in memory). So the page is laid out here first, by
pdfminer's own interpreter and pdfplumber's own device, with a budget:
- content: the decoded size of the page's content streams is checked before they are
  interpreted (a Flate stream is inflated only as far as the limit), and each form XObject is
  counted again every time it is drawn;
- glyphs and paths are counted as the device receives them, and the distinct horizontal and
  vertical lines they rule, so a grid too dense for the table finder is refused while it is
  drawn (pdf.py checks the laid-out page the same way).
Over a limit, the page is refused (LimitError) at that moment; within, pdfplumber uses this
layout as its own (`page._layout`, which it otherwise fills itself on first use).
"""

from __future__ import annotations

import functools
import zlib
from pathlib import Path
from typing import Any

from .limits import PDF_CONTENT_BYTES, PDF_GLYPHS, PDF_GRID_CROSSINGS, PDF_RULINGS, LimitError

# Filters that never expand (ASCII encodings): decoded by pdfminer before the size check.
_SHRINKING = {"ASCIIHexDecode", "AHx", "ASCII85Decode", "A85"}
_FLATE = {"FlateDecode", "Fl"}
# Any other filter (LZW, RunLength) is decoded only when its raw data is this small: LZW can
# expand without bound.
OTHER_FILTER_RAW_BYTES = 16 * 1024


class _Over(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def dense_grid(rows: int, cols: int) -> str | None:
    """Why a page ruled with `rows` horizontal and `cols` vertical lines is refused, if it is."""
    if rows * cols <= PDF_GRID_CROSSINGS:
        return None
    return (
        f"a ruled grid of {rows} x {cols} lines (at most {PDF_GRID_CROSSINGS:,} crossings are "
        "searched for tables)"
    )


class _Rulings:
    """The distinct straight lines a page's paths rule, in page points rounded to 1."""

    def __init__(self) -> None:
        self.rows: set[int] = set()
        self.cols: set[int] = set()

    def add(self, path: list[tuple[Any, ...]], ctm: tuple[float, ...]) -> None:
        start = here = None
        for op in path:
            if op[0] == "h" and here is not None and start is not None:
                self._segment(here, start)
            elif len(op) >= 3:
                point = _apply(ctm, op[-2], op[-1])
                if op[0] == "l" and here is not None:
                    self._segment(here, point)
                here = point
                start = point if op[0] == "m" else start
        if found := dense_grid(len(self.rows), len(self.cols)):
            raise _Over(found)

    def _segment(self, a: tuple[float, float], b: tuple[float, float]) -> None:
        if abs(a[1] - b[1]) < 1:
            self.rows.add(round(a[1]))
        elif abs(a[0] - b[0]) < 1:
            self.cols.add(round(a[0]))


def _apply(ctm: tuple[float, ...], x: Any, y: Any) -> tuple[float, float]:
    a, b, c, d, e, f = ctm
    x, y = float(x), float(y)
    return a * x + c * y + e, b * x + d * y + f


def budgeted_layout(page: Any, number: int, path: Path) -> None:
    """Lay `page` out within the limits, or raise LimitError naming the page and the limit."""
    device = _device_class()(page.pdf.rsrcmgr, pageno=page.page_number, laparams=page.pdf.laparams)
    try:
        for stream in _streams(page.page_obj.attrs.get("Contents")):
            device.spend(decoded_size(stream, device.left))
        _interpreter_class()(page.pdf.rsrcmgr, device).process_page(page.page_obj)
    except _Over as over:
        raise LimitError(str(path), f"page {number}: {over.reason}") from None
    page._layout = device.get_result()


def _streams(contents: Any) -> list[Any]:
    from pdfminer.pdftypes import PDFStream, resolve1

    contents = resolve1(contents)
    items = contents if isinstance(contents, list) else [contents]
    return [s for s in map(resolve1, items) if isinstance(s, PDFStream)]


def decoded_size(stream: Any, limit: int) -> int:
    """The decoded size of a stream, found without decoding past `limit` (+1: over it)."""
    raw = stream.rawdata if stream.rawdata is not None else stream.data or b""
    filters = [_name(f) for f, _ in stream.get_filters()]
    if not filters:
        return len(raw)
    if set(filters) <= _SHRINKING | _FLATE and sum(f in _FLATE for f in filters) <= 1:
        data = raw
        for name in filters:
            data = _inflate(data, limit) if name in _FLATE else _ascii(name, data)
        return len(data)
    if len(raw) > OTHER_FILTER_RAW_BYTES:
        raise _Over(f"a content stream filtered by {'+'.join(filters)} of {len(raw):,} bytes "
                    f"(decoded only up to {OTHER_FILTER_RAW_BYTES:,})")  # fmt: skip
    return len(stream.get_data())


def _name(obj: Any) -> str:
    return str(getattr(obj, "name", obj))


def _inflate(data: bytes, limit: int) -> bytes:
    try:
        return zlib.decompressobj().decompress(data, limit + 1)
    except zlib.error:
        return data[: limit + 1]  # pdfminer reads a damaged stream as far as it goes


def _ascii(name: str, data: bytes) -> bytes:
    from pdfminer.ascii85 import ascii85decode, asciihexdecode

    return ascii85decode(data) if name in ("ASCII85Decode", "A85") else asciihexdecode(data)


@functools.cache
def _device_class() -> type:
    from pdfplumber.page import PDFPageAggregatorWithMarkedContent

    class Device(PDFPageAggregatorWithMarkedContent):  # type: ignore[misc]
        """pdfplumber's page device, counting what a page costs as it is drawn."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.left = PDF_CONTENT_BYTES  # content bytes still to interpret
            self.glyphs = 0
            self.paths = 0
            self.rulings = _Rulings()

        def spend(self, size: int) -> None:
            self.left -= size
            if self.left < 0:
                raise _Over(
                    f"over {PDF_CONTENT_BYTES:,} bytes of content to interpret (form objects "
                    "counted each time they are drawn)"
                )

        def render_char(self, *args: Any, **kwargs: Any) -> float:
            self.glyphs += 1
            if self.glyphs > PDF_GLYPHS:
                raise _Over(f"draws over {PDF_GLYPHS:,} characters")
            return float(super().render_char(*args, **kwargs))

        def paint_path(self, *args: Any, **kwargs: Any) -> None:
            self.paths += 1
            if self.paths > PDF_RULINGS:
                raise _Over(f"draws over {PDF_RULINGS:,} lines and shapes")
            self.rulings.add(args[-1] if args else kwargs["path"], self.ctm)
            super().paint_path(*args, **kwargs)

    return Device


@functools.cache
def _interpreter_class() -> type:
    from pdfminer.pdfinterp import PDFPageInterpreter
    from pdfminer.pdftypes import PDFStream, stream_value
    from pdfminer.psparser import literal_name

    class Interpreter(PDFPageInterpreter):  # type: ignore[misc]
        """pdfminer's interpreter, charging each form XObject drawn to the page's budget (its
        sub-interpreters are of this class too: `dup` makes `self.__class__`)."""

        def do_Do(self, xobjid_arg: Any) -> None:
            try:
                xobj = stream_value(self.xobjmap[literal_name(xobjid_arg)])
            except (KeyError, TypeError):
                xobj = None
            if isinstance(xobj, PDFStream) and _name(xobj.get("Subtype")) == "Form":
                self.device.spend(decoded_size(xobj, self.device.left))
            super().do_Do(xobjid_arg)

    return Interpreter
