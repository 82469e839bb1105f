"""OCR tools whose JSON holds each block's text or HTML: PaddleOCR's PP-StructureV3 `_res.json`
and Marker's JSON output.

PP-StructureV3 (and PaddleOCR-VL) write one result per page: `parsing_res_list`, the page's
blocks in reading order, each with `block_label`, `block_content` (a table as HTML) and
`block_bbox` in pixels; a file may hold one page, `{"res": page}`, a list of pages, or the
serving API's `layoutParsingResults[].prunedResult`. Marker writes a tree: Document -> Page ->
blocks (groups hold their blocks as children), each with its `html` and `bbox` in points; a
Table's HTML is the table, a text block's HTML its paragraph. Tables become HTML tables, text
blocks lines, and every line keeps its page and box.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ...models import Origin, SourceText
from ..clean import strip_html
from .layout_json import _built, _dict, _float, _int, _json_head, _list, _str, _texts
from .limits import load_json
from .tables import SourceBuilder, Table, fraction_box, html_table_cells

# PP-StructureV3 labels that hold no text of a form (pictures, their regions).
_PADDLE_SKIP = {"image", "chart", "seal", "figure", "header_image", "footer_image"}
# Marker blocks that hold a picture, not text; groups are walked into, their own HTML is refs.
_MARKER_SKIP = {"Figure", "Picture"}
_MARKER_PAGE = re.compile(r"^/page/(\d+)/")


class PaddleFormat:
    name = "paddleocr"

    def sniff(self, path: Path, head: bytes) -> bool:
        body = _json_head(head)
        return body[:1] in (b"{", b"[") and (
            b'"parsing_res_list"' in body or b'"layoutParsingResults"' in body
        )

    def read(self, path: Path) -> SourceText:
        builder = SourceBuilder()
        for number, page in enumerate(_paddle_pages(load_json(path)), 1):
            _paddle_page(page, number, builder)
        return _built(builder, self.name, path)


def _paddle_pages(data: Any) -> list[dict[str, Any]]:
    """The page results a file holds, in order, whichever way it was saved."""
    if isinstance(data, dict) and isinstance(data.get("result"), dict):
        data = data["result"]  # the serving API's response
    if isinstance(data, dict) and "layoutParsingResults" in data:
        return [_dict(_dict(p).get("prunedResult")) for p in _list(data["layoutParsingResults"])]
    pages = data if isinstance(data, list) else [data]
    return [_dict(p.get("res", p)) if isinstance(p, dict) else {} for p in pages]


def _paddle_page(page: dict[str, Any], number: int, builder: SourceBuilder) -> None:
    if page.get("page_index") is not None:
        number = _int(page.get("page_index")) + 1
    size = (_float(page.get("width")), _float(page.get("height")))
    for i, block in enumerate(_list(page.get("parsing_res_list"))):
        if not isinstance(block, dict) or block.get("block_label") in _PADDLE_SKIP:
            continue
        box = fraction_box(_list(block.get("block_bbox")), *size)
        origin = Origin(page=number, block=i, bbox=box)
        content = _str(block.get("block_content"))
        if block.get("block_label") == "table" or content.lstrip().lower().startswith(
            ("<html", "<table")
        ):
            builder.table(Table(html_table_cells(content, Origin(page=number, block=i)), origin))
        else:
            _texts(content, origin, builder)


class MarkerFormat:
    name = "marker"

    def sniff(self, path: Path, head: bytes) -> bool:
        body = _json_head(head)
        return body.startswith(b"{") and b'"block_type"' in body and b'"children"' in body

    def read(self, path: Path) -> SourceText:
        data = load_json(path)
        builder = SourceBuilder()
        pages = [p for p in _list(_dict(data).get("children")) if isinstance(p, dict)]
        for number, page in enumerate(pages, 1):
            size = _marker_size(page)
            for block in _marker_blocks(page):
                _marker_block(block, _marker_page(block, number), size, builder)
        return _built(builder, self.name, path)


def _marker_blocks(page: dict[str, Any]) -> list[dict[str, Any]]:
    """A page's blocks in reading order, groups opened (a stack, however deep they nest)."""
    out: list[dict[str, Any]] = []
    stack = list(reversed(_list(page.get("children"))))
    while stack:
        block = stack.pop()
        if not isinstance(block, dict):
            continue
        children = _list(block.get("children"))
        if block.get("block_type") != "Table" and children:
            stack.extend(reversed(children))  # a group: its blocks say it all
        else:
            out.append(block)
    return out


def _marker_block(
    block: dict[str, Any], page: int, size: tuple[float, float], builder: SourceBuilder
) -> None:
    if block.get("block_type") in _MARKER_SKIP:
        return
    origin = Origin(page=page, bbox=fraction_box(_list(block.get("bbox")), *size))
    markup = _str(block.get("html"))
    if block.get("block_type") == "Table":
        builder.table(Table(html_table_cells(markup, Origin(page=page)), origin))
    else:
        _texts(strip_html(markup), origin, builder)


def _marker_size(page: dict[str, Any]) -> tuple[float, float]:
    box = [_float(v) for v in _list(page.get("bbox"))]
    return (box[2] - box[0], box[3] - box[1]) if len(box) == 4 else (0.0, 0.0)


def _marker_page(block: dict[str, Any], number: int) -> int:
    """The page a block's id names (`/page/5/Table/0` is page 6), else the page it sits in."""
    found = _MARKER_PAGE.match(_str(block.get("id")))
    return int(found.group(1)) + 1 if found and len(found.group(1)) < 7 else number
