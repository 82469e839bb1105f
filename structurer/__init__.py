"""structurer: OCR markdown of Chinese budget performance-target forms -> clean, checked records."""

from .models import Chunk, Document, Finding, FormRecord, Funding, Indicator

__all__ = ["Chunk", "Document", "Finding", "FormRecord", "Funding", "Indicator"]
__version__ = "0.1.0"
