"""The tables `judge calibrate`, `judge compare` and `judge align` write, marked as theirs.

A later `--out` replaces such a file only when it carries the mark, as the HTML report
carries its own: a user's CSV whose header happens to start `item,` or `criterion,` (the
human scores, an annotation export, an inventory) or a JSON list of records is not a table of
ours. A CSV's first line is the mark, a `#` line (pandas: `read_csv(path, skiprows=1)`); a
JSON table is an object `{"judge_table": <command>, "rows": [...]}`. CSV cells a spreadsheet
would run as formulas are escaped (calibration.spreadsheet). No pandas import here: the frame
is used through its methods.
"""

from __future__ import annotations

import json
import re
from typing import Any

from calibration.spreadsheet import escape_cell

__all__ = ["TABLE_MARK", "is_table", "table_text"]

TABLE_MARK = "# judge table"
_JSON_MARK = re.compile(rb'^\s*\{\s*"judge_table"\s*:')


def table_text(frame: Any, suffix: str, command: str) -> str:
    """`frame` (a pandas DataFrame) as the marked table `command` writes to a file ending in
    `suffix`: JSON for ".json", else CSV."""
    if suffix.lower() == ".json":
        rows = json.loads(frame.to_json(orient="records"))
        return json.dumps({"judge_table": command, "rows": rows}, indent=2, ensure_ascii=False)
    # Judge names, criteria and items come from the data: no cell may run as a formula.
    body: str = frame.map(escape_cell).to_csv(index=False)
    return f"{TABLE_MARK} (judge {command})\n{body}"


def is_table(head: bytes) -> bool:
    """Whether a file's first bytes are those of a table `table_text` wrote."""
    return head.startswith(TABLE_MARK.encode()) or bool(_JSON_MARK.match(head))
