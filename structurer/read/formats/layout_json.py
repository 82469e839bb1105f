"""OCR tools' structured output: MinerU's content_list.json (v1 and v2) / middle.json and
Docling's JSON.

Both give the document as blocks in reading order, each on a page with a box; tables come as
HTML (MinerU's `table_body`) or as cells with spans and boxes (Docling). Text blocks become
lines, tables HTML tables, and every line and cell keeps its page and box. MinerU states no box
per table cell, so its cells carry the page only (the table's box stays on the table's lines).
A part of the wrong type (a number where a list of blocks belongs) is passed over, not fatal.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...errors import InputError
from ...models import Origin, SourceText
from .limits import load_json
from .tables import Box, SourceBuilder, Table, TableCell, fraction_box, html_table_cells

# content_list (v1) blocks read as text; MinerU 2.7 writes headers and footers as "discarded"
_TEXT_BLOCKS = {"text", "title", "list", "index", "equation", "header", "footer", "page_number",
                "aside_text", "page_footnote", "abstract", "ref_text", "discarded", "code"}  # fmt: skip
_V1_TEXT_KEYS = ("code_caption", "text", "list_items", "code_body")
# content_list_v2: the text fields of a block's `content`, in reading order
_V2_TEXT_KEYS = ("title_content", "paragraph_content", "page_header_content", "page_footer_content",
                 "page_number_content", "page_aside_text_content", "page_footnote_content",
                 "math_content", "code_caption", "code_content", "algorithm_caption",
                 "algorithm_content", "code_footnote", "algorithm_footnote")  # fmt: skip


def _json_head(head: bytes) -> bytes:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return 0.0


class MinerUFormat:
    """content_list.json (blocks with page_idx, 0-1000 boxes), its v2 form (a list per page)
    and middle.json (pdf_info pages with para_blocks, boxes in page points)."""

    name = "mineru"

    def sniff(self, path: Path, head: bytes) -> bool:
        body = _json_head(head)
        return (body.startswith(b"[") and b'"type"' in body) or (
            body.startswith(b"{") and b'"pdf_info"' in body
        )

    def read(self, path: Path) -> SourceText:
        data = load_json(path)
        builder = SourceBuilder()
        if isinstance(data, dict) and isinstance(data.get("pdf_info"), list):
            _middle(data["pdf_info"], builder)
        elif isinstance(data, list) and data and all(isinstance(p, list) for p in data):
            _content_list_v2(data, builder)
        elif isinstance(data, list):
            _content_list(data, builder)
        else:
            raise InputError(str(path), "JSON that is not a MinerU content list or middle.json")
        return _built(builder, self.name, path)


class DoclingFormat:
    """A DoclingDocument export: body -> children refs to texts, groups and tables."""

    name = "docling"

    def sniff(self, path: Path, head: bytes) -> bool:
        body = _json_head(head)
        return body.startswith(b"{") and (
            b"DoclingDocument" in body or (b'"texts"' in body and b'"body"' in body)
        )

    def read(self, path: Path) -> SourceText:
        data = load_json(path)
        if not isinstance(data, dict) or not isinstance(data.get("body"), dict):
            raise InputError(str(path), "JSON that is not a Docling document (no body)")
        builder = SourceBuilder()
        _docling(data, builder)
        return _built(builder, self.name, path)


class UnknownJsonFormat:
    """A .json file no reader above knew: say what is read, rather than find no form in it."""

    name = "json"

    def sniff(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() == ".json" and _json_head(head)[:1] in (b"{", b"[")

    def read(self, path: Path) -> SourceText:
        raise InputError(
            str(path),
            "a JSON file structurer does not know; it reads MinerU's content_list.json (v1, v2) "
            "and middle.json, Docling's JSON export, PaddleOCR's PP-StructureV3 _res.json and "
            "Marker's JSON",
        )


def _built(builder: SourceBuilder, name: str, path: Path) -> SourceText:
    if not builder.lines:
        raise InputError(str(path), f"a {name} file with no text or table in it")
    return builder.build(name, "utf-8")


# --- MinerU ----------------------------------------------------------------------------------


def _box_1000(block: dict[str, Any]) -> Box | None:
    box = block.get("bbox")
    return fraction_box(box, 1000, 1000) if isinstance(box, list) and len(box) == 4 else None


def _content_list(items: list[Any], builder: SourceBuilder) -> None:
    for i, block in enumerate(items):
        if not isinstance(block, dict):
            continue
        page = _int(block.get("page_idx")) + 1
        origin = Origin(page=page, block=i, bbox=_box_1000(block))
        kind = block.get("type")
        if kind == "table":
            _texts(block.get("table_caption"), origin, builder)
            cells = html_table_cells(_str(block.get("table_body")), Origin(page=page, block=i))
            builder.table(Table(cells, origin))
            _texts(block.get("table_footnote"), origin, builder)
        elif isinstance(kind, str) and kind in _TEXT_BLOCKS:
            for key in _V1_TEXT_KEYS:
                _texts(block.get(key), origin, builder)


def _content_list_v2(pages: list[list[Any]], builder: SourceBuilder) -> None:
    for p, blocks in enumerate(pages):
        for i, block in enumerate(blocks):
            if not isinstance(block, dict) or not isinstance(block.get("content"), dict):
                continue
            content = block["content"]
            origin = Origin(page=p + 1, block=i, bbox=_box_1000(block))
            if block.get("type") == "table":
                _texts(_spans(content.get("table_caption")), origin, builder)
                cells = html_table_cells(_str(content.get("html")), Origin(page=p + 1, block=i))
                builder.table(Table(cells, origin))
                _texts(_spans(content.get("table_footnote")), origin, builder)
                continue
            for key in _V2_TEXT_KEYS:
                _texts(_spans(content.get(key)), origin, builder)
            for item in _list(content.get("list_items")):  # a list: one line per item
                _texts(_spans(_dict(item).get("item_content")), origin, builder)


def _spans(value: Any) -> str:
    """v2 text: a list of spans {type, content}, or a plain string."""
    if isinstance(value, list):
        return "".join(_str(s.get("content")) if isinstance(s, dict) else _str(s) for s in value)
    return _str(value)


def _str(value: Any) -> str:
    """A text field: a string (a number as written); anything else holds no text."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return str(value)


def _middle(pages: list[Any], builder: SourceBuilder) -> None:
    for p, page in enumerate(pages):
        if not isinstance(page, dict):
            continue
        number = _int(page.get("page_idx", p)) + 1
        width, height = (_float(v) for v in [*_list(page.get("page_size")), 0, 0][:2])
        for i, block in enumerate(_list(page.get("para_blocks"))):
            if not isinstance(block, dict):
                continue
            box = fraction_box(_list(block.get("bbox")), width, height)
            origin = Origin(page=number, block=i, bbox=box)
            if block.get("type") == "table":
                _middle_table(block, origin, builder)
            else:
                builder.text(_block_text(block), origin)


def _middle_table(block: dict[str, Any], origin: Origin, builder: SourceBuilder) -> None:
    parts = [_dict(part) for part in _list(block.get("blocks"))]
    for part in parts:
        if part.get("type") == "table_caption":
            builder.text(_block_text(part), origin)
    for part in parts:
        if part.get("type") == "table_body":
            markup = "".join(_str(span.get("html")) for span in _line_spans(part))
            cells = html_table_cells(markup, Origin(page=origin.page, block=origin.block))
            builder.table(Table(cells, origin))
    for part in parts:
        if part.get("type") == "table_footnote":
            builder.text(_block_text(part), origin)


def _line_spans(block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for line in _list(block.get("lines")):
        for span in _list(_dict(line).get("spans")):
            if isinstance(span, dict):
                yield span


def _block_text(block: dict[str, Any]) -> str:
    """A middle.json block's text: its lines' spans; nested blocks (lists) line by line. The
    nesting is bounded by the JSON's (limits.JSON_DEPTH)."""
    text = "".join(_str(s.get("content")) for s in _line_spans(block))
    nested = [_block_text(b) for b in _list(block.get("blocks")) if isinstance(b, dict)]
    return "\n".join(t for t in (text, *nested) if t.strip())


def _texts(value: Any, origin: Origin, builder: SourceBuilder) -> None:
    for text in value if isinstance(value, list) else [value]:
        if text := _str(text):
            builder.text(text, origin)


def _int(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError, OverflowError):
        return 0


# --- Docling ---------------------------------------------------------------------------------


def _docling(data: dict[str, Any], builder: SourceBuilder) -> None:
    sizes = {}
    for key, page in _dict(data.get("pages")).items():
        size = _dict(_dict(page).get("size"))
        sizes[_int(_dict(page).get("page_no", key))] = (
            _float(size.get("width", 0)),
            _float(size.get("height", 0)),
        )
    for n, item in enumerate(_walk(data, data["body"])):
        page, box = _prov(item, sizes)
        origin = Origin(page=page, block=n, bbox=box)
        if "data" in item and isinstance(item["data"], dict):
            cells = [
                _docling_cell(c, page, sizes)
                for c in _list(item["data"].get("table_cells"))
                if isinstance(c, dict)
            ]
            builder.table(Table(cells, origin))
        elif text := _str(item.get("text")):
            builder.text(text, origin)


def _walk(data: dict[str, Any], body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Items in reading order: body's children, depth first through groups (a stack, so a long
    chain of groups is no recursion). A child points at its item by `$ref` or, in Docling's
    files through schema 1.5, by `cref`; an item reached twice is read once."""
    seen: set[str] = set()
    stack = [iter(_list(body.get("children")))]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            continue
        ref = _ref(child)
        item = _resolve(data, ref)
        if item is None or ref in seen:
            continue
        seen.add(ref)
        if ref.startswith(("#/texts/", "#/tables/")):
            yield item
        stack.append(iter(_list(item.get("children"))))


def _ref(child: Any) -> str:
    ref = _dict(child).get("$ref", _dict(child).get("cref"))
    return ref if isinstance(ref, str) else ""


def _resolve(data: dict[str, Any], ref: str) -> dict[str, Any] | None:
    parts = ref.lstrip("#/").split("/")
    if len(parts) != 2 or not parts[1].isdigit() or len(parts[1]) > 9:
        return None
    items = data.get(parts[0])
    index = int(parts[1])
    if isinstance(items, list) and index < len(items) and isinstance(items[index], dict):
        return items[index]
    return None


def _prov(item: dict[str, Any], sizes: dict[int, tuple[float, float]]) -> tuple[int | None, Any]:
    prov = _list(item.get("prov"))
    if not prov or not isinstance(prov[0], dict):
        return None, None
    page = _int(prov[0].get("page_no")) or None
    return page, _docling_box(prov[0].get("bbox"), sizes.get(page or 0))


def _docling_box(bbox: Any, size: tuple[float, float] | None) -> Box | None:
    """Docling's {l, t, r, b, coord_origin} in points; its BoundingBox defaults to TOPLEFT, and
    the boxes of `prov` are written BOTTOMLEFT (t > b)."""
    if not isinstance(bbox, dict) or not size:
        return None
    width, height = size
    try:
        left, top, right, bottom = (float(bbox[k]) for k in ("l", "t", "r", "b"))
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    if str(bbox.get("coord_origin", "TOPLEFT")).upper() == "BOTTOMLEFT":
        top, bottom = height - top, height - bottom
    return fraction_box((left, min(top, bottom), right, max(top, bottom)), width, height)


def _docling_cell(
    cell: dict[str, Any], page: int | None, sizes: dict[int, tuple[float, float]]
) -> TableCell:
    row, col = _int(cell.get("start_row_offset_idx")), _int(cell.get("start_col_offset_idx"))
    rowspan = _int(cell.get("row_span")) or _int(cell.get("end_row_offset_idx")) - row or 1
    colspan = _int(cell.get("col_span")) or _int(cell.get("end_col_offset_idx")) - col or 1
    box = _docling_box(cell.get("bbox"), sizes.get(page or 0)) if page else None
    origin = Origin(page=page, bbox=box) if page else None
    return TableCell(row, col, _str(cell.get("text")), rowspan, colspan, origin)
