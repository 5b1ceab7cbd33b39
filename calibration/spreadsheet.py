"""Text cells of CSV/TSV score tables made safe to open in a spreadsheet, and read back.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel,
LibreOffice and Google Sheets (`=HYPERLINK(…)` in a rater's comment runs when the export is
opened). Following OWASP's CSV-injection advice, such a cell is written with a leading `'`,
which spreadsheets show as text and do not display. Cells that already start with quotes
before such a character get one more, so reading back (drop one leading `'`) is exact.
Numbers are never escaped: `-1` is a number, not a formula, and stays one for
`judge calibrate`. No pandas here, so the annotation export can use it cheaply.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["escape_cell", "unescape_cell"]

# https://owasp.org/www-community/attacks/CSV_Injection
_FORMULA = re.compile(r"'*[=+\-@\t\r]")


def escape_cell(value: Any) -> Any:
    """`value` as a CSV/TSV cell: text that a spreadsheet would run gets a leading `'`."""
    if isinstance(value, str) and _FORMULA.match(value):
        return "'" + value
    return value


def unescape_cell(value: Any) -> Any:
    """The text `escape_cell` was given (a cell it did not change is returned as it is)."""
    if isinstance(value, str) and value.startswith("'") and _FORMULA.match(value, 1):
        return value[1:]
    return value
