"""Which judges are sent a case's images: those litellm's model map marks as supporting
vision. Asked only when a rubric shows images and the case has some, so litellm (seconds to
import) is imported then and not before; local llama.cpp judges are text-only here.
"""

from __future__ import annotations

from functools import cache

from judge.judging.providers.local import is_local
from judge.judging.providers.sdk import litellm_module

__all__ = ["supports_vision"]


@cache
def supports_vision(model: str) -> bool:
    """Whether litellm reports `model` as accepting image content parts (False when it does
    not know the model: a judge is sent images only when they are known to reach it)."""
    if is_local(model):
        return False
    return bool(litellm_module().supports_vision(model))
