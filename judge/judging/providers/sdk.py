"""litellm, imported on first use, and what every litellm request shares: the stand-in key a
keyless server is sent, and closing litellm's cached clients.

Importing this module does not import litellm (that takes seconds): only `litellm_module()`
does, when a call must go out.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = [
    "PLACEHOLDER_KEY",
    "close_clients",
    "litellm_acompletion",
    "litellm_module",
    "placeholder_key",
]

# Local and self-hosted servers accept any key, but litellm refuses an openai/ call without
# one: this stand-in is sent instead (to a user's --api-base, a local llama.cpp judge, a
# batch endpoint). It is never a real key, so it may appear anywhere.
PLACEHOLDER_KEY = "sk-no-key-needed"


def litellm_module() -> Any:
    """The litellm module, imported on first use (with its price map read locally)."""
    # Without this, importing litellm tries to download a price map from the internet.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def litellm_acompletion() -> Callable[..., Awaitable[Any]]:
    """`litellm.acompletion`, imported when the first call goes out (not when a judge is
    opened: a run the call cache answers never needs it)."""

    async def acompletion(**kwargs: Any) -> Any:
        return await litellm_module().acompletion(**kwargs)

    return acompletion


def placeholder_key(model: str) -> str | None:
    """The stand-in key sent with `model` to a user's --api-base when no key is set for its
    provider (None when one is set: litellm then reads it from the environment)."""
    provider = model.split("/", 1)[0].upper() if "/" in model else "OPENAI"
    return None if os.environ.get(f"{provider}_API_KEY") else PLACEHOLDER_KEY


async def close_clients() -> None:
    """Close litellm's cached HTTP clients: they are bound to the event loop of the run that
    made them, and would otherwise leak sockets when `judge.score` ends its loop."""
    if "litellm" not in sys.modules:  # no call went out (a cached rerun): nothing to close
        return
    close = getattr(litellm_module(), "close_litellm_async_clients", None)
    if close is not None:
        await close()
