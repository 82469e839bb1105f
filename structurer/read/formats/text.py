"""Plain text: OCR markdown (pipe or HTML tables), a web page's text, a PDF text layer as .txt.

UTF-8 (with or without BOM), UTF-16 with a BOM and GB18030/GBK are decoded; binary data is
refused. Each line is its own origin, so SourceText.lines stays empty.
"""

from __future__ import annotations

from pathlib import Path

from ...io import read_text
from ...models import SourceText


class TextFormat:
    name = "text"

    def sniff(self, path: Path, head: bytes) -> bool:
        return True  # the fallback: `read` refuses binary data itself

    def read(self, path: Path) -> SourceText:
        text, encoding = read_text(path)
        return SourceText(text=text, format=self.name, encoding=encoding)
