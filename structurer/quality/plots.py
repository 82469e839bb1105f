"""matplotlib, when installed (`pip install 'structurer[plot]'`): the reports' plots are extras,
and a report without them is still whole."""

from __future__ import annotations

from typing import Any

PLOT_HINT = "no plots: matplotlib is not installed (pip install 'structurer[plot]')"


def pyplot() -> Any | None:
    """matplotlib.pyplot drawing to files (the Agg backend), or None without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
