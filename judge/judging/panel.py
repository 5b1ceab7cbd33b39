"""Open a panel of judges: one spec per judge, with its concurrency bound, and one
completion function routing each judge to its endpoint (starting local llama.cpp judges).

Judges that cannot be called as configured (no API key) are left out with a notice, so the
panel shrinks rather than the run failing; the records say which judges took part.
"""

from __future__ import annotations

import contextlib
from typing import Any

from judge.errors import ConfigError
from judge.judging.engine import CompleteFn, Completion, JudgeSpec
from judge.options import RunOptions

__all__ = ["NO_JUDGE", "open_judges"]

NO_JUDGE = (
    "no judge configured: pass --judge MODEL (e.g. openai/gpt-4o-mini with OPENAI_API_KEY set, "
    "or any OpenAI-compatible server with --api-base URL)"
)


async def open_judges(
    stack: contextlib.AsyncExitStack,
    opts: RunOptions,
    complete: CompleteFn | None,
    notices: list[str],
) -> tuple[list[JudgeSpec], CompleteFn | None]:
    """Judge specs and one completion function routing each judge to its endpoint (local
    judges are started on `stack` and stopped when it closes)."""
    if not opts.judges:
        notices.append(NO_JUDGE + "; only criteria that need no LLM are scored")
        return [], complete
    if len(set(opts.judges)) != len(opts.judges):
        raise ConfigError("each --judge may be given once")
    if complete is not None:
        return [_spec(m, opts, None) for m in opts.judges], complete
    from judge.judging.providers import llm

    stack.push_async_callback(llm.close_clients)
    routes: dict[str, CompleteFn] = {}
    judges = []
    for model in opts.judges:
        route = await _route(stack, model, opts, notices)
        if route is not None:
            routes[model], max_concurrency = route
            judges.append(_spec(model, opts, max_concurrency))
    if not judges:
        return [], None

    async def router(*, model: str, **kwargs: Any) -> Completion:
        return await routes[model](model=model, **kwargs)

    return judges, router


async def _route(
    stack: contextlib.AsyncExitStack, model: str, opts: RunOptions, notices: list[str]
) -> tuple[CompleteFn, int | None] | None:
    """One judge's completion function and its own concurrency bound, or None (with a
    notice) when it cannot be called as configured."""
    from judge.judging.providers import lean, llm, local

    if local.is_local(model):
        # Started here, stopped when the exit stack closes (also on error or Ctrl-C).
        endpoint = await stack.enter_async_context(local.local_judge(model))
        slots = endpoint.max_concurrency
        notices.append(
            f"local judge {model}: {slots} slot{'s' if slots != 1 else ''}, {endpoint.threads} "
            "thread(s) (the cores idle at start)"
        )
        if model == local.DEMO:
            notices.append(local.DEMO_NOTICE)
        inner: CompleteFn
        if lean.use_lean(opts.client, endpoint.model, endpoint.api_base, endpoint.mode):
            # The server's grammar takes json_object + schema; a small model's strings can
            # hold raw newlines (local.py's adapter does the same on the litellm path).
            client = lean.LeanClient(
                endpoint.api_base,
                endpoint.api_key,
                opts.validation_retries,
                lenient=True,
                json_object=True,
                shape=endpoint.shape,
            )
            stack.push_async_callback(client.aclose)
            inner = client
        else:
            inner = llm.litellm_complete(
                api_base=endpoint.api_base,
                api_key=endpoint.api_key,
                mode=endpoint.mode,
                acompletion=endpoint.wrap(llm.litellm_acompletion()),
                max_validation_retries=opts.validation_retries,
            )

        async def local_complete(*, model: str, **kwargs: Any) -> Completion:
            # Records and the cache name the judge by its spec; the server knows an alias.
            return await inner(model=endpoint.model, **kwargs)

        return local_complete, endpoint.max_concurrency
    problem = llm.check_judge_configured(model, opts.api_base)
    if problem:
        notices.append(f"judge {model} is not used: {problem}")
        return None
    if lean.use_lean(opts.client, model, opts.api_base, opts.mode):
        client = lean.LeanClient(opts.api_base, None, opts.validation_retries)
        stack.push_async_callback(client.aclose)
        return client, None
    complete = llm.litellm_complete(
        api_base=opts.api_base, mode=opts.mode, max_validation_retries=opts.validation_retries
    )
    return complete, None


def _spec(model: str, opts: RunOptions, server_bound: int | None) -> JudgeSpec:
    """A judge with its own bound (the tighter of --judge-concurrency and its server's)."""
    provider = model.split("/", 1)[0]
    limits = opts.judge_concurrency
    unknown = sorted(k for k in limits if k not in opts.judges and "/" in k)
    if unknown:
        raise ConfigError(f"--judge-concurrency names judges not in the panel: {unknown}")
    bound, group = limits.get(model), model
    if bound is None and provider in limits:
        bound, group = limits[provider], f"provider:{provider}"
    timeout = None
    if server_bound is not None and (bound is None or server_bound < bound):
        bound, group = server_bound, model
    if server_bound is not None and bound is not None:
        # A local server's slots share its cores: with N calls in flight each takes up to N
        # times as long as alone, so each gets --timeout N times over. Otherwise calls that
        # would have finished are abandoned and sent again, which only adds load (measured:
        # ddx on 4 slots, 9 of 12 items in 15 minutes with a 120 s timeout).
        timeout = opts.timeout * bound
    params = opts.params()
    if server_bound is not None:
        from judge.judging.providers.local import MAX_REPLY_TOKENS

        params.setdefault("max_tokens", MAX_REPLY_TOKENS)
    return JudgeSpec(model, params, bound, group, timeout)
