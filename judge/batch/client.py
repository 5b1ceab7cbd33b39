"""One judge's batch API through litellm (files and batches), errors as JudgeErrors; which
judges can be batched at all."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from judge.errors import JudgeError, redact
from judge.judging.providers import sdk
from judge.judging.providers.call import provider_errors

__all__ = ["ENDPOINT", "PROVIDERS", "BatchClient", "endpoint_of", "unbatchable"]

# Providers whose batch API litellm reaches with OpenAI's batch file format, sent and read
# back unchanged (litellm also batches vertex_ai, bedrock, mistral and xai, each with its own
# file format and storage; anthropic batches it can only retrieve).
PROVIDERS = ("openai", "azure", "litellm_proxy")
ENDPOINT = "/v1/chat/completions"

T = TypeVar("T")


def unbatchable(model: str) -> str | None:
    """Why `model`'s calls cannot go through a batch API here, or None when they can."""
    provider = provider_of(model)
    if provider == "local":
        return "a local llama.cpp judge has no batch API"
    if provider == "hosted_vllm":
        return (
            "vLLM's server has no batch API (a LiteLLM proxy in front of it can run batches: "
            "judge litellm_proxy/<model> with --api-base at the proxy)"
        )
    if provider not in PROVIDERS:
        return f"{provider} is not one of the providers batched here ({', '.join(PROVIDERS)})"
    return None


def provider_of(model: str) -> str:
    if model.startswith("local/"):
        return "local"
    litellm = sdk.litellm_module()
    try:
        return str(litellm.get_llm_provider(model)[1])
    except litellm.BadRequestError:  # litellm does not know it: not batchable; live says why
        return model.split("/", 1)[0]


def endpoint_of(api_base: str | None) -> str:
    """Where batches go, as stored: the API base without credentials, query or fragment."""
    if not api_base:
        return ""
    parts = urlsplit(api_base)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


class BatchClient:
    """One judge's batch API through litellm (files, batches), errors as JudgeErrors."""

    def __init__(self, model: str, api_base: str | None):
        self.model = model
        self.provider = provider_of(model)
        self.kwargs: dict[str, Any] = {"custom_llm_provider": self.provider}
        if api_base:
            self.kwargs["api_base"] = api_base
            if stand_in := sdk.placeholder_key(model):
                self.kwargs["api_key"] = stand_in
        self.where = endpoint_of(api_base) or self.provider

    async def _do(self, what: str, call: Awaitable[T]) -> T:
        try:
            return await call
        except provider_errors() as exc:  # litellm's failures only; anything else is a bug
            message = redact(" ".join(str(exc).split()))[:300]
            raise JudgeError(
                f"--batch: {what} failed at {self.where}: {type(exc).__name__}: {message}"
            ) from exc

    def _litellm(self) -> Any:
        return sdk.litellm_module()

    async def upload(self, path: Path) -> str:
        litellm = self._litellm()
        with path.open("rb") as handle:
            found = await self._do(
                "uploading the batch file",
                litellm.acreate_file(file=handle, purpose="batch", **self.kwargs),
            )
        return str(found.id)

    async def create(self, file_id: str, digest: str) -> Any:
        return await self._do(
            "creating the batch",
            self._litellm().acreate_batch(
                completion_window="24h",
                endpoint=ENDPOINT,
                input_file_id=file_id,
                metadata={"judge_file_sha256": digest},
                **self.kwargs,
            ),
        )

    async def retrieve(self, batch_id: str) -> Any:
        return await self._do(
            f"polling batch {batch_id}",
            self._litellm().aretrieve_batch(
                batch_id=batch_id,
                # litellm would otherwise download a completed batch's output once more, to
                # price it for its own logging.
                litellm_metadata={"batch_ignore_default_logging": True},
                **self.kwargs,
            ),
        )

    async def find(self, digest: str) -> Any | None:
        """A recent batch made from the file with this digest (see `_recover`)."""
        found = await self._do(
            "listing batches", self._litellm().alist_batches(limit=100, **self.kwargs)
        )
        for batch in getattr(found, "data", None) or []:
            if (getattr(batch, "metadata", None) or {}).get("judge_file_sha256") == digest:
                return batch
        return None

    async def lines(self, file_id: str) -> AsyncIterator[bytes]:
        """The lines of an output file, streamed."""
        found = await self._do(
            f"downloading file {file_id}",
            self._litellm().afile_content(file_id=file_id, stream=True, **self.kwargs),
        )
        rest = b""
        async for chunk in found.stream_iterator:
            rest += chunk
            *lines, rest = rest.split(b"\n")
            for line in lines:
                if line.strip():
                    yield line
        if rest.strip():
            yield rest
