"""The page beside the record: which region of which PDF page a form sits on, and its image.

A paged source (a PDF, or MinerU/Docling JSON reviewed with `--pdf`) gives every line and table
cell a page and a box (Document.line_places / cell_places, fractions of the page). A form's region
on each page is the union of its boxes; the app shows that crop, rendered by PDFium (pypdfium2,
the `pdf` extra), and boxes the selected field's cell on it. No web code here.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import StructurerError
from ..models import Chunk, Document, Place

MARGIN = 0.012  # of the page, around a form's region: the table's outer rules stay in view
WIDTH_PX = 1100  # a region is rendered this wide (shown scaled down: sharp when zoomed) ...
HEIGHT_PX = 4000  # ... and at most this tall, whatever the page's MediaBox says (595 x 2e6 took
# 9 GB): a region's image is never over WIDTH_PX x HEIGHT_PX (17.6 MB of pixels)
MAX_SCALE = 4.0  # a tiny region is not blown up past this


@dataclass
class PageRegion:
    page: int
    box: tuple[float, float, float, float]  # x0, y0, x1, y1: fractions of the page

    @property
    def aspect(self) -> float:
        """Height / width of the region in page fractions (the caller scales by page size)."""
        return (self.box[3] - self.box[1]) / max(self.box[2] - self.box[0], 1e-6)


@dataclass
class FormPages:
    regions: list[PageRegion] = field(default_factory=list)
    # (line, col) -> (page, "left,top,width,height" in % of that page's region) for the grid
    boxes: dict[tuple[int, int], tuple[int, str]] = field(default_factory=dict)


def form_pages(document: Document, chunk: Chunk | None) -> FormPages:
    """The regions a form covers, page by page, and where each of its cells sits in them."""
    if chunk is None:
        return FormPages()
    lines = range(chunk.start_line, chunk.end_line + 1)
    spans: dict[int, list[float]] = {}
    for place in _places(document, lines):
        if place.bbox is not None:
            x0, y0, x1, y1 = place.bbox
            s = spans.setdefault(place.page, [x0, y0, x1, y1])
            spans[place.page] = [min(s[0], x0), min(s[1], y0), max(s[2], x1), max(s[3], y1)]
    regions = [PageRegion(p, _padded(s)) for p, s in sorted(spans.items())]
    by_page = {r.page: r for r in regions}
    boxes = {}
    for line in lines:
        for col, place in document.cell_places.get(line, {}).items():
            region = by_page.get(place.page)
            if place.bbox is not None and region is not None:
                boxes[(line, col)] = (place.page, _relative(place.bbox, region.box))
    return FormPages(regions, boxes)


def _places(document: Document, lines: range) -> list[Place]:
    found = [document.line_places[n] for n in lines if n in document.line_places]
    found += [p for n in lines for p in document.cell_places.get(n, {}).values()]
    return found


def _padded(s: list[float]) -> tuple[float, float, float, float]:
    return (
        max(0.0, s[0] - MARGIN),
        max(0.0, s[1] - MARGIN),
        min(1.0, s[2] + MARGIN),
        min(1.0, s[3] + MARGIN),
    )


def _relative(box: tuple[float, ...], region: tuple[float, ...]) -> str:
    w, h = region[2] - region[0], region[3] - region[1]
    parts = ((box[0] - region[0]) / w, (box[1] - region[1]) / h, (box[2] - box[0]) / w,
             (box[3] - box[1]) / h)  # fmt: skip
    return ",".join(f"{100 * v:.2f}" for v in parts)


class PageError(StructurerError):
    """A page PDFium cannot render (answered 422, never a server error)."""


def render_scale(width: float, height: float) -> float:
    """The scale a region of `width` x `height` points is rendered at: WIDTH_PX wide where
    that keeps it under HEIGHT_PX tall, never over MAX_SCALE. A region that would be under two
    pixels across within those bounds (thousands of times taller than wide) is not shown."""
    width, height = max(width, 1.0), max(height, 1.0)
    scale = min(MAX_SCALE, WIDTH_PX / width, HEIGHT_PX / height)
    if min(width, height) * scale < 2:
        raise PageError(f"a region of {width:.0f} x {height:.0f} points is too thin to show")
    return scale


class PageRenderer:
    """Renders regions of one PDF's pages as PNG. The file is opened per image (a few ms), so no
    handle outlives a request; PDFium is not thread-safe, so one lock serialises the renders."""

    def __init__(self, pdf: str | Path) -> None:
        try:
            import pypdfium2
        except ImportError:
            raise StructurerError(
                "showing the page needs the pdf extra: pip install 'structurer[pdf]'"
            ) from None
        self._pdfium = pypdfium2
        self.path = Path(pdf)
        self._lock = threading.Lock()
        try:
            with self._open() as doc:
                self.pages = len(doc)
        except (pypdfium2.PdfiumError, OSError) as exc:
            raise StructurerError(f"{pdf}: not a readable PDF ({exc})") from None

    @contextmanager
    def _open(self) -> Iterator[Any]:
        doc = self._pdfium.PdfDocument(str(self.path))
        try:
            yield doc
        finally:
            doc.close()

    def png(self, region: PageRegion) -> bytes:
        if not 1 <= region.page <= self.pages:
            raise KeyError(region.page)
        with self._lock, self._open() as doc:
            page = doc[region.page - 1]
            try:
                width, height = page.get_size()
                x0, y0, x1, y1 = region.box
                scale = render_scale((x1 - x0) * width, (y1 - y0) * height)
                crop = (x0 * width, (1 - y1) * height, (1 - x1) * width, y0 * height)  # l,b,r,t
                image = page.render(scale=scale, crop=crop).to_pil()
            except (self._pdfium.PdfiumError, ValueError) as exc:
                raise PageError(f"page {region.page} of {self.path.name}: {exc}") from None
            finally:
                page.close()
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
        return out.getvalue()


def page_renderer(
    source: str | Path, document: Document, pdf: str | Path | None = None
) -> PageRenderer | None:
    """The renderer for a session: `pdf` given for OCR JSON, else the source when it is a PDF;
    None for a source without pages. A `pdf` for a source that states no pages is an error."""
    paged = bool(document.line_places or document.cell_places)
    if pdf is not None and not paged:
        raise StructurerError(
            f"--pdf {pdf}: {Path(source).name} states no pages; give the PDF itself, or "
            "MinerU/Docling JSON with the PDF it was made from"
        )
    if pdf is None and document.format == "pdf":
        pdf = source
    return PageRenderer(pdf) if pdf is not None and paged else None
