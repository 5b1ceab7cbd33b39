"""Human rubric scoring: `judge annotate`, a local web app in which clinicians score
predictions on the same rubric criteria and level anchors as the LLM judges.

`store` keeps every answer in SQLite (WAL) the moment it is submitted, `assign` balances items
over raters, `app` is the FastAPI app, `server` runs it on uvicorn, `export` writes the long
score table `judge calibrate` reads.
"""

from __future__ import annotations

__all__: list[str] = []
