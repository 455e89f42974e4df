"""Widget styles live in a ``.tcss`` file beside the widget's module.

Textual reads ``CSS_PATH`` for apps and screens only; widgets carry ``DEFAULT_CSS``. This reads
the file next to a widget module so its styles stay in a stylesheet like everyone else's.
"""

from __future__ import annotations

from pathlib import Path


def tcss_beside(module_file: str) -> str:
    """The text of ``<module>.tcss`` next to ``module_file`` (``__file__`` of the widget)."""
    return Path(module_file).with_suffix(".tcss").read_text(encoding="utf-8")
