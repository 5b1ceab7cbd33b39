"""Adapters that put `judge`'s rubrics inside other evaluation harnesses.

`judge.integrations.inspect`: an Inspect AI scorer (needs the `inspect` extra). Each adapter
imports its harness itself, so importing this package needs none of them.
"""

from __future__ import annotations

__all__: list[str] = []
